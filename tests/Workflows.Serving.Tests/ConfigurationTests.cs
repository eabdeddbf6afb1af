using System.Diagnostics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Workflows.Serving.Configuration;
using Workflows.Serving.Hosting;
using Xunit;

namespace Workflows.Serving.Tests;

/// <summary>How the service finds the function app's registry and its admin key, and how ./run.sh passes its arguments.</summary>
public sealed class ConfigurationTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("wf-serving-config-").FullName;

    [Fact]
    public void LocalSettings_ValuesBecomeSettingsBelowTheOtherSources()
    {
        File.WriteAllText(Path.Combine(_folder, LocalSettings.FileName), """
            { "IsEncrypted": false, "Values": { "WorkflowsModelRegistryRoot": "trained", "Serving__MaxBatchRows": "7", "WorkflowsDataRoot": "from-file" } }
            """);
        var builder = new ConfigurationBuilder().AddInMemoryCollection([new("WorkflowsDataRoot", "from-command-line")]);

        LocalSettings.Add(builder, _folder);
        var configuration = builder.Build();

        Assert.Equal("trained", configuration["WorkflowsModelRegistryRoot"]);
        Assert.Equal("7", configuration["Serving:MaxBatchRows"]);
        Assert.Equal("from-command-line", configuration["WorkflowsDataRoot"]);
    }

    [Fact]
    public void LocalRegistryFolder_IsTheFunctionAppsUnlessServingNamesOne()
    {
        IConfiguration Settings(params (string Key, string Value)[] values) =>
            new ConfigurationBuilder().AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value))).Build();
        var root = Path.Combine(_folder, "data");

        var byDefault = ServingApplication.LocalRegistryFolder(new ServingOptions(), Settings(("WorkflowsDataRoot", root)));
        var functionApps = ServingApplication.LocalRegistryFolder(new ServingOptions(), Settings(("WorkflowsDataRoot", root), ("WorkflowsModelRegistryRoot", "trained")));
        var servings = ServingApplication.LocalRegistryFolder(
            new ServingOptions { RegistryFolder = "mine" }, Settings(("WorkflowsDataRoot", root), ("WorkflowsModelRegistryRoot", "trained")));

        Assert.Equal(Path.Combine(root, "models"), byDefault);
        Assert.Equal(Path.Combine(root, "trained"), functionApps);
        Assert.Equal(Path.Combine(root, "mine"), servings);
    }

    [Fact]
    public void AdminKeyFile_IsCreatedOnceForTheOwnerOnly_AndReadAfterwards()
    {
        var path = Path.Combine(_folder, ".serving", "admin-key");

        var created = AdminKeyFile.ReadOrCreate(path);
        var again = AdminKeyFile.ReadOrCreate(path);

        Assert.Equal(48, created.Length);
        Assert.Equal(created, again);
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        }
    }

    [Fact]
    public void AdminKey_ComesFromTheKeyFile_OnlyWhenNoKeyIsConfigured()
    {
        var path = Path.Combine(_folder, "admin-key");
        File.WriteAllText(path, "key-from-the-file-0123456789\n");

        var fromFile = ResolvedOptions("--Serving:AdminKeyFile=" + path);
        var configured = ResolvedOptions("--Serving:AdminKeyFile=" + path, "--Serving:AdminKey=configured-key-0123456789");

        Assert.Equal("key-from-the-file-0123456789", fromFile.AdminKey);
        Assert.Equal("configured-key-0123456789", configured.AdminKey);
    }

    [Fact]
    public async Task RunScript_ParsesWithoutErrors()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        var (exitCode, output) = await RunAsync("bash", "-n", RunScript());

        Assert.True(exitCode == 0, output);
    }

    [Fact]
    public async Task RunScript_TakesTheServingPort_AndPassesEveryOtherArgumentToTheHost()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        var moved = await RunAsync("bash", RunScript(), "--urls", "http://127.0.0.1:8080", "--serving-port", "9001", "--grpc-port", "4002", "two words");
        var joined = await RunAsync("bash", RunScript(), "--serving-port=9002");
        var byDefault = await RunAsync("bash", RunScript());
        var bad = await RunAsync("bash", RunScript(), "--serving-port", "http://x");
        var missing = await RunAsync("bash", RunScript(), "--serving-port");

        Assert.Equal(
            ["serving-url http://127.0.0.1:9001", "host-arg --urls", "host-arg http://127.0.0.1:8080", "host-arg --WorkflowsGrpcPort=4002", "host-arg two words"],
            Lines(moved));
        Assert.Equal(["serving-url http://127.0.0.1:9002"], Lines(joined));
        Assert.Equal(["serving-url http://127.0.0.1:7072"], Lines(byDefault));
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("--serving-port must be a port number", bad.Output, StringComparison.Ordinal);
        Assert.Equal(2, missing.ExitCode);
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private static ServingOptions ResolvedOptions(params string[] args)
    {
        var builder = ServingApplication.CreateBuilder(["--urls=http://127.0.0.1:0", .. args]);
        using var provider = builder.Services.BuildServiceProvider();
        return provider.GetRequiredService<IOptions<ServingOptions>>().Value;
    }

    private static string[] Lines((int ExitCode, string Output) result)
    {
        Assert.True(result.ExitCode == 0, result.Output);
        return result.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    private static string RunScript()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            var script = Path.Combine(directory.FullName, "run.sh");
            if (File.Exists(script) && File.Exists(Path.Combine(directory.FullName, "Workflows.sln")))
            {
                return script;
            }
        }

        throw new InvalidOperationException("run.sh not found above " + AppContext.BaseDirectory);
    }

    /// <summary>Runs a command with <c>WORKFLOWS_RUN_DRY_RUN=1</c> (run.sh prints what it would run and exits).</summary>
    private static async Task<(int ExitCode, string Output)> RunAsync(string fileName, params string[] arguments)
    {
        var start = new ProcessStartInfo(fileName) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["WORKFLOWS_RUN_DRY_RUN"] = "1";
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await stdout + await stderr);
    }
}
