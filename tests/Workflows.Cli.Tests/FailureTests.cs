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
