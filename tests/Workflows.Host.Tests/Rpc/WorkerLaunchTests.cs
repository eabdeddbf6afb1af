using System.Runtime.InteropServices;
using Workflows.Host.Rpc;
using Xunit;

namespace Workflows.Host.Tests.Rpc;

/// <summary>Reading worker.config.json as the Functions host does.</summary>
public sealed class WorkerLaunchTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "workflows-launch-" + Guid.NewGuid().ToString("N"));

    public WorkerLaunchTests() => Directory.CreateDirectory(_folder);

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void TheTestAppsOwnConfig_RunsItsDllWithDotnet()
    {
        var launch = WorkerLaunch.Read(WorkerApp.Directory);

        Assert.Equal("dotnet", Path.GetFileNameWithoutExtension(launch.Executable));
        Assert.Equal([Path.Combine(WorkerApp.Directory, WorkerApp.AssemblyFileName)], launch.Arguments);
    }

    [Fact]
    public void AnApphostUnderWorkerRoot_IsTheProgram_WithItsArgumentsAroundTheWorkerPath()
    {
        Touch("App");
        Touch("App.dll");
        Write("""
            { "description": { "defaultExecutablePath": "{WorkerRoot}App", "arguments": ["--first"],
                               "defaultWorkerPath": "App.dll", "workerArguments": ["--last"] } }
            """);

        var launch = WorkerLaunch.Read(_folder);

        Assert.Equal(Path.Combine(_folder, "App"), launch.Executable);
        Assert.Equal(["--first", Path.Combine(_folder, "App.dll"), "--last"], launch.Arguments);
    }

    [Fact]
    public void AWorkerPathAlone_IsTheProgram()
    {
        Touch("App");
        Write("""{ "description": { "defaultWorkerPath": "App" } }""");

        var launch = WorkerLaunch.Read(_folder);

        Assert.Equal(Path.Combine(_folder, "App"), launch.Executable);
        Assert.Empty(launch.Arguments);
    }

    [Fact]
    public void OsAndArchitecturePlaceholders_AreReplaced()
    {
        var os = OperatingSystem.IsWindows() ? "windows" : OperatingSystem.IsMacOS() ? "osx" : "linux";
        var architecture = RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant();
        Directory.CreateDirectory(Path.Combine(_folder, os, architecture));
        Touch(Path.Combine(os, architecture, "worker.dll"));
        Write("""{ "description": { "defaultExecutablePath": "dotnet", "defaultWorkerPath": "{os}/{architecture}/worker.dll" } }""");

        var launch = WorkerLaunch.Read(_folder);

        Assert.Equal([Path.Combine(_folder, os, architecture, "worker.dll")], launch.Arguments);
    }

    [Fact]
    public void ArgumentsThatAreNotStrings_AreAStartError()
    {
        Write("""{ "description": { "defaultExecutablePath": "dotnet", "arguments": [1] } }""");

        var error = Assert.Throws<WorkerStartException>(() => WorkerLaunch.Read(_folder));

        Assert.Equal(_folder, error.AppDirectory);
        Assert.Contains("\"arguments\"", error.Message, StringComparison.Ordinal);
    }

    private void Touch(string name) => File.WriteAllBytes(Path.Combine(_folder, name), []);

    private void Write(string config) => File.WriteAllText(Path.Combine(_folder, WorkerLaunch.ConfigFileName), config);
}
