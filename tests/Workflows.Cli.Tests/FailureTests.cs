using System.Net;
using System.Net.Sockets;
using Xunit;

namespace Workflows.Cli.Tests;

/// <summary>What the CLI says, and which exit code it gives, when the host is down, refuses the key or the command line is wrong.</summary>
public sealed class FailureTests
{
    [Fact]
    public async Task HostDown_SaysNoHostAnswersAndExitsHostDown()
    {
        var url = $"http://127.0.0.1:{ClosedPort()}";

        var run = await Cli.RunAsync("get-instances", "--url", url);

        Assert.Equal(ExitCodes.HostDown, run.ExitCode);
        Assert.Equal($"durable: no host answers at {url}/; start it with ./run.sh", run.Stderr.Trim());
        Assert.Empty(run.Stdout);
    }

    [Fact]
    public async Task KeysEnforced_AWrongKeyIsRefusedWithoutEchoingIt_TheMasterKeyWorks()
    {
        await using var host = await CliHost.StartAsync("WorkflowsEnforceKeys=true");
        const string wrongKey = "not-the-key-0123456789";

        var wrong = await Cli.RunAsync("get-instances", "--url", host.Url, "--key", wrongKey);
        var none = await Cli.RunAsync("get-instances", "--url", host.Url);
        var right = await Cli.RunAsync("start-new", "--function-name", "Greetings", "--wait", "--url", host.Url, "--key", host.MasterKey, "--output", "json");

        Assert.Equal(ExitCodes.KeyRefused, wrong.ExitCode);
        Assert.Contains("refused the key", wrong.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain(wrongKey, wrong.Stderr + wrong.Stdout, StringComparison.Ordinal);
        Assert.Equal(ExitCodes.KeyRefused, none.ExitCode);
        Assert.Contains("wants a key", none.Stderr, StringComparison.Ordinal);
        Assert.Equal(0, right.ExitCode);
        Assert.Equal("Completed", right.Json.GetProperty("runtimeStatus").GetString());
        Assert.DoesNotContain(host.MasterKey, right.Stdout + right.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task KeysEnforced_StartWithoutWait_JsonHidesTheKeyInTheLinks()
    {
        await using var host = await CliHost.StartAsync("WorkflowsEnforceKeys=true");

        var run = await Cli.RunAsync("start-new", "--function-name", "Greetings", "--url", host.Url, "--key", host.MasterKey, "--output", "json");

        Assert.Equal(0, run.ExitCode);
        Assert.Contains("code=***", run.Json.GetProperty("statusQueryGetUri").GetString(), StringComparison.Ordinal);
        Assert.DoesNotMatch("code=[^*]", run.Stdout);
    }

    [Theory]
    [InlineData("get-runtime-status")]
    [InlineData("start-new", "--input", "{not json", "--function-name", "Greetings")]
    [InlineData("purge-history", "--id", "x", "--runtime-status", "Completed")]
    [InlineData("get-instances", "--output", "yaml")]
    [InlineData("start-new", "--function-name", "Greetings", "--wait", "--timeout", "0")]
    public async Task BadCommandLine_IsAUsageError(params string[] args)
    {
        var run = await Cli.RunAsync([.. args, "--url", $"http://127.0.0.1:{ClosedPort()}"]);

        Assert.Equal(ExitCodes.Usage, run.ExitCode);
        Assert.NotEmpty(run.Stderr);
    }

    [Fact]
    public async Task StorageMode_SettingMissing_NamesItAndWhereItLooked_WithoutPrintingOtherSettings()
    {
        var folder = Directory.CreateTempSubdirectory("workflows-cli-").FullName;
        try
        {
            const string secret = "c2VjcmV0LWtleS1ub3QtZm9yLWV5ZXM=";
            await File.WriteAllTextAsync(Path.Combine(folder, "local.settings.json"), $$"""{ "Values": { "OtherStorage": "DefaultEndpointsProtocol=https;AccountName=a;AccountKey={{secret}}" } }""");
            var environment = new CliEnvironment(static _ => null, folder);

            var run = await Cli.RunAsync(environment, "get-instances", "--connection-string-setting", "MissingStorage");

            Assert.Equal(ExitCodes.Usage, run.ExitCode);
            Assert.Equal(
                $"durable: the connection string setting 'MissingStorage' is not set: looked for the environment variable MissingStorage and for MissingStorage in the Values of {Path.Combine(folder, "local.settings.json")}",
                run.Stderr.Trim());
            Assert.DoesNotContain(secret, run.Stdout + run.Stderr, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task StorageMode_StorageDown_SaysNoStorageAnswersAndExitsHostDown_Quickly_WithoutTheKey()
    {
        const string key = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
        var port = ClosedPort();
        var connectionString = $"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={key};"
            + $"BlobEndpoint=http://127.0.0.1:{port}/devstoreaccount1;QueueEndpoint=http://127.0.0.1:{port}/devstoreaccount1;TableEndpoint=http://127.0.0.1:{port}/devstoreaccount1;";
        var environment = new CliEnvironment(name => name == "DownStorage" ? connectionString : null, Path.GetTempPath());
        var clock = System.Diagnostics.Stopwatch.StartNew();

        var run = await Cli.RunAsync(environment, "get-runtime-status", "--id", "x", "--connection-string-setting", "DownStorage", "--task-hub-name", "anyhub");

        Assert.Equal(ExitCodes.HostDown, run.ExitCode);
        Assert.Equal($"durable: no storage answers at http://127.0.0.1:{port}/devstoreaccount1 (setting 'DownStorage'); is Azurite running? (./run.sh starts it)", run.Stderr.Trim());
        Assert.DoesNotContain(key, run.Stdout + run.Stderr, StringComparison.Ordinal);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"took {clock.Elapsed}");
    }

    [Theory]
    [InlineData("delete-task-hub", "--url", "http://127.0.0.1:7071")]
    [InlineData("delete-task-hub")]
    public async Task DeleteTaskHub_WithoutTheStorageMode_IsAUsageError(params string[] args)
    {
        var run = await Cli.RunAsync(new CliEnvironment(static _ => null, Path.GetTempPath()), args);

        Assert.Equal(ExitCodes.Usage, run.ExitCode);
        Assert.StartsWith("durable: delete-task-hub needs the storage mode", run.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("delete-task-hub", "--storage-provider", "AzureStorage")]
    [InlineData("delete-task-hub", "--connection-string-setting", "AzureWebJobsStorage")]
    public async Task DeleteTaskHub_TakesTheHubFromItsCommandLineOnly(params string[] args)
    {
        // host.json here names a hub: deleting never takes it from there, nor from the default.
        var folder = Directory.CreateTempSubdirectory("cli-delete-").FullName;
        try
        {
            await File.WriteAllTextAsync(Path.Combine(folder, "host.json"), """{ "extensions": { "durableTask": { "hubName": "ProductionHub" } } }""");
            var run = await Cli.RunAsync(new CliEnvironment(static name => name == "AzureWebJobsStorage" ? "UseDevelopmentStorage=true" : null, folder), args);

            Assert.Equal(ExitCodes.Usage, run.ExitCode);
            Assert.Equal("durable: delete-task-hub deletes only a task hub named on its command line: give --task-hub-name", run.Stderr.Trim());
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task AConnectionStringGivenAsTheSettingsName_IsRefusedWithoutRepeatingIt()
    {
        const string secret = "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=c2VjcmV0LWtleS1ub3QtdG8tYmUtcHJpbnRlZA==";

        var run = await Cli.RunAsync(new CliEnvironment(static _ => null, Path.GetTempPath()), "get-instances", "--connection-string-setting", secret);

        Assert.Equal(ExitCodes.Usage, run.ExitCode);
        Assert.Contains("not the connection string itself", run.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("c2VjcmV0", run.Stderr + run.Stdout, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("InMemory", "that task hub lives in a running host's memory")]
    [InlineData("Cosmos", "must be Workflows or AzureStorage")]
    public async Task StorageMode_AProviderOtherThanTheTwoStorageOnes_IsAUsageError(string provider, string message)
    {
        var environment = new CliEnvironment(static name => name == "AzureWebJobsStorage" ? "UseDevelopmentStorage=true" : null, Path.GetTempPath());

        var run = await Cli.RunAsync(environment, "get-instances", "--storage-provider", provider);

        Assert.Equal(ExitCodes.Usage, run.ExitCode);
        Assert.Contains(message, run.Stderr, StringComparison.Ordinal);
    }

    /// <summary>A loopback port nothing listens on: one the system just handed out and took back.</summary>
    private static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
