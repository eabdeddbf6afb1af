using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Workflows.Host.Azurite;
using Xunit;

namespace Workflows.Host.Tests;

/// <summary>
/// The quick start: <c>./run.sh</c> says what it is doing before it builds, builds Release, passes SIGINT and SIGTERM
/// on to the host and exits with the host's exit code; Azurite is pinned to one version, the one the README names with
/// the Node version it supports. The script runs from a copy beside stand-ins for <c>dotnet</c>, the host and the
/// serving service, so nothing is built or started. Linux only (signals, bash).
/// </summary>
public sealed partial class RunScriptTests : IDisposable
{
    private readonly string _root = AzuriteProcess.FindRepositoryRoot(AppContext.BaseDirectory);
    private readonly string _folder = Directory.CreateTempSubdirectory("workflows-run-sh-").FullName;

    [Theory]
    [InlineData("INT", 3)]
    [InlineData("TERM", 4)]
    public async Task Signal_IsPassedOnToTheHost_AndTheScriptExitsWithTheHostsCode(string signal, int hostExitCode)
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        Prepare();
        var output = new StringBuilder();
        var info = new ProcessStartInfo("bash") { WorkingDirectory = _folder, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(Path.Combine(_folder, "run.sh"));
        info.Environment["PATH"] = Path.Combine(_folder, "fake-bin") + Path.PathSeparator + Environment.GetEnvironmentVariable("PATH");
        info.Environment.Remove("WORKFLOWS_RUN_DRY_RUN");
        using var script = Process.Start(info)!;
        script.OutputDataReceived += (_, e) => Append(output, e.Data);
        script.ErrorDataReceived += (_, e) => Append(output, e.Data);
        script.BeginOutputReadLine();
        script.BeginErrorReadLine();
        try
        {
            var started = Path.Combine(_folder, "host-started");
            var deadline = Stopwatch.StartNew();
            while (!File.Exists(started))
            {
                Assert.False(script.HasExited, "run.sh exited before it started the host:\n" + Text(output));
                Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(60), "run.sh did not start the host:\n" + Text(output));
                await Task.Delay(50);
            }

            using (var kill = Process.Start("kill", ["-" + signal, script.Id.ToString(CultureInfo.InvariantCulture)]))
            {
                await kill.WaitForExitAsync();
            }

            await script.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        }
        finally
        {
            if (!script.HasExited)
            {
                script.Kill(entireProcessTree: true);
            }
        }

        Assert.Equal(signal, (await File.ReadAllTextAsync(Path.Combine(_folder, "host-signal"))).Trim());
        Assert.Equal(hostExitCode, script.ExitCode);
        var log = Text(output);
        var building = log.IndexOf("run.sh: building", StringComparison.Ordinal);
        Assert.True(building >= 0, "run.sh must say that it builds before it builds:\n" + log);
        Assert.True(building < log.IndexOf("dotnet build", StringComparison.Ordinal), "the message comes before the build:\n" + log);
        var builds = (await File.ReadAllLinesAsync(Path.Combine(_folder, "dotnet-calls"))).ToList();
        Assert.Contains(builds, static b => b.StartsWith("build functions/Workflows.Functions ", StringComparison.Ordinal) && b.Contains("-c Release", StringComparison.Ordinal));
        Assert.Contains(builds, static b => b.StartsWith("build src/Workflows.Host ", StringComparison.Ordinal) && b.Contains("-c Release", StringComparison.Ordinal));
        Assert.Contains(builds, static b => b.StartsWith("build src/Workflows.Serving ", StringComparison.Ordinal) && b.Contains("-c Release", StringComparison.Ordinal));
        Assert.StartsWith("--WorkflowsAppPath=functions/Workflows.Functions/bin/Release/net10.0", (await File.ReadAllTextAsync(Path.Combine(_folder, "host-args"))).Trim(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--grpc-port 4100", 0, "host-arg --WorkflowsGrpcPort=4100")]
    [InlineData("--grpc-port=0", 0, "host-arg --WorkflowsGrpcPort=0")]
    [InlineData("--grpc-port 70000", 2, "--grpc-port must be a port number from 0 to 65535 (got '70000')")]
    [InlineData("--help", 0, "--grpc-port N      moves the host's Durable Task gRPC endpoint")]
    public async Task GrpcPort_IsPassedToTheHostAsItsSetting(string arguments, int exitCode, string expected)
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        var info = new ProcessStartInfo("bash") { WorkingDirectory = _folder, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(Path.Combine(_root, "run.sh"));
        foreach (var argument in arguments.Split(' '))
        {
            info.ArgumentList.Add(argument);
        }

        info.Environment["WORKFLOWS_RUN_DRY_RUN"] = "1";
        using var script = Process.Start(info)!;
        var output = await script.StandardOutput.ReadToEndAsync() + await script.StandardError.ReadToEndAsync();
        await script.WaitForExitAsync();

        Assert.Equal(exitCode, script.ExitCode);
        Assert.Contains(expected, output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Azurite_IsPinnedToTheVersionTheReadmeNames_WithTheNodeVersionItSupports()
    {
        using var package = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(_root, "package.json")));
        var pinned = package.RootElement.GetProperty("devDependencies").GetProperty("azurite").GetString()!;
        using var locked = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(_root, "package-lock.json")));
        var readme = await File.ReadAllTextAsync(Path.Combine(_root, "README.md"));

        Assert.Matches(ExactVersion(), pinned);
        Assert.Equal(pinned, locked.RootElement.GetProperty("packages").GetProperty("node_modules/azurite").GetProperty("version").GetString());
        Assert.Contains($"Node.js 20+ (Node runs Azurite, pinned to {pinned},", readme, StringComparison.Ordinal);
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    /// <summary>A copy of run.sh beside an installed Azurite, a settings sample and stand-ins for dotnet, the host and the serving service.</summary>
    private void Prepare()
    {
        File.Copy(Path.Combine(_root, "run.sh"), Path.Combine(_folder, "run.sh"));
        File.WriteAllText(Path.Combine(_folder, "local.settings.sample.json"), "{}");
        Write("node_modules/azurite/dist/src/azurite.js", string.Empty);
        Write("fake-bin/dotnet", $"""
            #!/usr/bin/env bash
            echo "dotnet $*"
            echo "$*" >> '{_folder}/dotnet-calls'
            """);
        Write("src/Workflows.Host/bin/Release/net10.0/Workflows.Host", $"""
            #!/usr/bin/env bash
            echo "$*" > '{_folder}/host-args'
            trap 'echo INT > '{_folder}/host-signal'; exit 3' INT
            trap 'echo TERM > '{_folder}/host-signal'; exit 4' TERM
            touch '{_folder}/host-started'
            while true; do sleep 0.05; done
            """);
        Write("src/Workflows.Serving/bin/Release/net10.0/Workflows.Serving", "#!/usr/bin/env bash\nexec sleep 600\n");
    }

    private void Write(string relative, string text)
    {
        var path = Path.Combine(_folder, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text.ReplaceLineEndings("\n") + "\n");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }

    private static void Append(StringBuilder output, string? line)
    {
        if (line is not null)
        {
            lock (output)
            {
                output.AppendLine(line);
            }
        }
    }

    private static string Text(StringBuilder output)
    {
        lock (output)
        {
            return output.ToString();
        }
    }

    [GeneratedRegex(@"^\d+\.\d+\.\d+$")]
    private static partial Regex ExactVersion();
}
