using System.Text.Json;
using Xunit;

namespace Workflows.Cli.Tests;

/// <summary>Runs the <c>durable</c> entry point in process and captures what it writes.</summary>
internal static class Cli
{
    private static readonly TimeSpan SafetyTimeout = TimeSpan.FromSeconds(30);

    public static Task<CliRun> RunAsync(params string[] args) => RunAsync(null, args);

    /// <summary>Runs the CLI with <paramref name="environment"/> as its environment variables and current directory (null: the process's).</summary>
    public static async Task<CliRun> RunAsync(CliEnvironment? environment, params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        using var timeout = new CancellationTokenSource(SafetyTimeout);
        var exitCode = await DurableCli.RunAsync(args, stdout, stderr, environment: environment, cancellationToken: timeout.Token);
        return new CliRun(exitCode, stdout.ToString(), stderr.ToString());
    }

    /// <summary>Runs a command against <paramref name="host"/> and asserts it succeeded.</summary>
    public static async Task<CliRun> SucceedsAsync(CliHost host, params string[] args)
    {
        var run = await RunAsync([.. args, "--url", host.Url]);
        Assert.True(run.ExitCode == 0, $"durable {string.Join(' ', args)} exited {run.ExitCode}: {run.Stderr}");
        return run;
    }

    /// <summary>The instance's status as <c>get-runtime-status --output json</c> prints it.</summary>
    public static async Task<JsonElement> StatusAsync(CliHost host, string instanceId) =>
        (await SucceedsAsync(host, "get-runtime-status", "--id", instanceId, "--show-input", "--output", "json")).Json;

    /// <summary>Polls the status through the CLI until <paramref name="runtimeStatus"/> is reached; fails after the safety timeout.</summary>
    public static async Task<JsonElement> WaitForStatusAsync(CliHost host, string instanceId, string runtimeStatus)
    {
        using var timeout = new CancellationTokenSource(SafetyTimeout);
        while (true)
        {
            var status = await StatusAsync(host, instanceId);
            if (status.GetProperty("runtimeStatus").GetString() == runtimeStatus)
            {
                return status;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(50), timeout.Token);
        }
    }
}

/// <summary>One run of the CLI: exit code and what it wrote.</summary>
internal sealed record CliRun(int ExitCode, string Stdout, string Stderr)
{
    /// <summary>Standard output parsed as one JSON document.</summary>
    public JsonElement Json
    {
        get
        {
            using var document = JsonDocument.Parse(Stdout);
            return document.RootElement.Clone();
        }
    }
}
