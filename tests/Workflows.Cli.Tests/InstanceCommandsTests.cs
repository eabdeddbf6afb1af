using System.Text.Json;
using Xunit;

namespace Workflows.Cli.Tests;

/// <summary>Each command against a real host: the route it calls, what it prints, the instance state it leaves.</summary>
public sealed class InstanceCommandsTests(HostFixture fixture) : IClassFixture<HostFixture>
{
    private readonly CliHost _host = fixture.Host;

    private static string NewId(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 13)];

    [Fact]
    public async Task StartNew_Wait_ShowsCustomStatusProgressAndExitsZeroWhenCompleted()
    {
        var id = NewId("steps");

        var run = await Cli.SucceedsAsync(_host, "start-new", "--function-name", "ProgressSteps", "--id", id, "--input", "3", "--wait", "--timeout", "30");

        Assert.Contains("100% {\"phase\":\"stepping\",\"done\":3,\"total\":3}", run.Stdout, StringComparison.Ordinal);
        Assert.Matches(@"│\s*Runtime status\s*│\s*Completed", run.Stdout);
        Assert.Matches(@"│\s*Output\s*│\s*3\s", run.Stdout);
        Assert.Empty(run.Stderr);
    }

    [Fact]
    public async Task StartNew_WaitJson_PrintsTheFinalStatusDocument()
    {
        var run = await Cli.SucceedsAsync(_host, "start-new", "--function-name", "Greetings", "--input", "\"Lisbon\"", "--wait", "--output", "json");

        Assert.Equal("Completed", run.Json.GetProperty("runtimeStatus").GetString());
        Assert.Equal(["Hello Lisbon!", "Hello Seattle!", "Hello London!"], run.Json.GetProperty("output").EnumerateArray().Select(static e => e.GetString()));
    }

    [Fact]
    public async Task StartNew_InputFromFile_WithoutWait_PrintsTheIdAndJsonHasTheCheckStatusLinks()
    {
        var file = Path.GetTempFileName();
        try
        {
            await File.WriteAllTextAsync(file, "\"Oslo\"");
            var id = NewId("file");

            var table = await Cli.SucceedsAsync(_host, "start-new", "--function-name", "Greetings", "--id", id, "--input", "@" + file);
            var json = await Cli.SucceedsAsync(_host, "start-new", "--function-name", "Greetings", "--input", "@" + file, "--output", "json");

            Assert.Contains($"instance '{id}'", table.Stdout, StringComparison.Ordinal);
            Assert.StartsWith(_host.Url + "/runtime/webhooks/durabletask/instances/", json.Json.GetProperty("statusQueryGetUri").GetString(), StringComparison.Ordinal);
            var status = await Cli.WaitForStatusAsync(_host, id, "Completed");
            Assert.Equal("Oslo", status.GetProperty("input").GetString());
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task StartNew_WaitOnAFailingInstance_ExitsNotCompletedWithTheFailure()
    {
        var run = await Cli.RunAsync("start-new", "--function-name", "FailsOnce", "--wait", "--url", _host.Url);

        Assert.Equal(ExitCodes.NotCompleted, run.ExitCode);
        Assert.Contains("Failed", run.Stderr, StringComparison.Ordinal);
        Assert.Contains("first attempt fails", run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StartNew_WaitPastTheTimeout_ExitsWaitTimedOut()
    {
        var id = NewId("slow");

        var run = await Cli.RunAsync("start-new", "--function-name", "WaitForApproval", "--id", id, "--wait", "--timeout", "2", "--url", _host.Url);

        Assert.Equal(ExitCodes.WaitTimedOut, run.ExitCode);
        Assert.Contains("waiting for approval", run.Stdout, StringComparison.Ordinal);
        Assert.Contains($"instance '{id}' is still Running after 2 s", run.Stderr, StringComparison.Ordinal);
        await Cli.SucceedsAsync(_host, "terminate", "--id", id);
    }

    [Fact]
    public async Task StartNew_UnknownFunction_IsNotFoundWithTheHostsDetail()
    {
        var run = await Cli.RunAsync("start-new", "--function-name", "NoSuchOrchestrator", "--url", _host.Url);

        Assert.Equal(ExitCodes.NotFound, run.ExitCode);
        Assert.Equal("durable: There is no orchestrator function named 'NoSuchOrchestrator'.", run.Stderr.Trim());
    }

    [Fact]
    public async Task GetRuntimeStatus_JsonIsTheApiDocument_TableShowsInputAndOutputWhenAsked()
    {
        var id = NewId("status");
        await Cli.SucceedsAsync(_host, "start-new", "--function-name", "Greetings", "--id", id, "--input", "\"Rome\"", "--wait");

        var json = await Cli.SucceedsAsync(_host, "get-runtime-status", "--id", id, "--output", "json");
        var plain = await Cli.SucceedsAsync(_host, "get-runtime-status", "--id", id);
        var full = await Cli.SucceedsAsync(_host, "get-runtime-status", "--id", id, "--show-input", "--show-output");

        Assert.Equal(id, json.Json.GetProperty("instanceId").GetString());
        Assert.Equal("Greetings", json.Json.GetProperty("name").GetString());
        Assert.Equal(JsonValueKind.Null, json.Json.GetProperty("input").ValueKind);
        Assert.Matches(@"│\s*Runtime status\s*│\s*Completed", plain.Stdout);
        Assert.DoesNotContain("Hello Rome!", plain.Stdout, StringComparison.Ordinal);
        Assert.Matches(@"│\s*Input\s*│\s*Rome\s", full.Stdout);
        Assert.Contains("[\"Hello Rome!\",\"Hello Seattle!\",\"Hello London!\"]", full.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetInstances_FiltersByPrefixAndStatus_AndPagesWithTheContinuationToken()
    {
        var prefix = NewId("page") + "-";
        foreach (var n in new[] { "a", "b", "c" })
        {
            await Cli.SucceedsAsync(_host, "start-new", "--function-name", "Greetings", "--id", prefix + n, "--wait");
        }

        var first = await Cli.SucceedsAsync(_host, "get-instances", "--id-prefix", prefix, "--runtime-status", "Completed", "--top", "2");
        var token = first.Stdout.Split('\n').Single(static l => l.StartsWith("Next page: --continuation-token ", StringComparison.Ordinal))["Next page: --continuation-token ".Length..].Trim();
        var second = await Cli.SucceedsAsync(_host, "get-instances", "--id-prefix", prefix, "--runtime-status", "Completed", "--top", "2", "--continuation-token", token);
        var running = await Cli.SucceedsAsync(_host, "get-instances", "--id-prefix", prefix, "--runtime-status", "Running", "Pending");
        var json = await Cli.SucceedsAsync(_host, "get-instances", "--id-prefix", prefix, "--created-after", DateTimeOffset.UtcNow.AddMinutes(-5).ToString("O"), "--output", "json");

        var firstPage = new[] { "a", "b", "c" }.Where(n => first.Stdout.Contains(prefix + n, StringComparison.Ordinal)).ToList();
        var secondPage = new[] { "a", "b", "c" }.Where(n => second.Stdout.Contains(prefix + n, StringComparison.Ordinal)).ToList();
        Assert.Equal(2, firstPage.Count);
        Assert.Equal(["a", "b", "c"], firstPage.Concat(secondPage).Order());
        Assert.DoesNotContain("Next page", second.Stdout, StringComparison.Ordinal);
        Assert.Contains("No instance matches.", running.Stdout, StringComparison.Ordinal);
        Assert.Equal(3, json.Json.GetArrayLength());
        Assert.All(json.Json.EnumerateArray(), static i => Assert.Equal("Completed", i.GetProperty("runtimeStatus").GetString()));
    }

    [Fact]
    public async Task GetInstances_BadStatus_IsRefusedWithTheHostsDetail()
    {
        var run = await Cli.RunAsync("get-instances", "--runtime-status", "Sleeping", "--url", _host.Url);

        Assert.Equal(ExitCodes.Refused, run.ExitCode);
        Assert.StartsWith("durable: Bad request: runtimeStatus 'Sleeping' is not one of", run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetHistory_ListsTheEventsWithResults()
    {
        var id = NewId("history");
        await Cli.SucceedsAsync(_host, "start-new", "--function-name", "Greetings", "--id", id, "--input", "\"Kyiv\"", "--wait");

        var table = await Cli.SucceedsAsync(_host, "get-history", "--id", id);
        var json = await Cli.SucceedsAsync(_host, "get-history", "--id", id, "--output", "json");

        Assert.Contains("ExecutionStarted", table.Stdout, StringComparison.Ordinal);
        Assert.Contains("TaskCompleted", table.Stdout, StringComparison.Ordinal);
        Assert.Contains("Hello Kyiv!", table.Stdout, StringComparison.Ordinal);
        var events = json.Json.GetProperty("historyEvents").EnumerateArray().ToList();
        Assert.Equal(3, events.Count(static e => e.GetProperty("EventType").GetString() == "TaskCompleted"));
    }

    [Fact]
    public async Task RaiseEvent_ResumesTheWaitingInstance()
    {
        var id = NewId("approve");
        await Cli.SucceedsAsync(_host, "start-new", "--function-name", "WaitForApproval", "--id", id);
        await Cli.WaitForStatusAsync(_host, id, "Running");

        var raised = await Cli.SucceedsAsync(_host, "raise-event", "--id", id, "--event-name", "Approval", "--event-data", "\"Ada\"");

        Assert.Contains($"Raised event 'Approval' on instance '{id}'", raised.Stdout, StringComparison.Ordinal);
        var status = await Cli.WaitForStatusAsync(_host, id, "Completed");
        Assert.Equal("approved by Ada", status.GetProperty("output").GetString());
    }

    [Fact]
    public async Task SuspendResumeTerminate_ReachTheirStates_AndAFinishedInstanceRefusesTheOperation()
    {
        var id = NewId("ops");
        await Cli.SucceedsAsync(_host, "start-new", "--function-name", "WaitForApproval", "--id", id);
        await Cli.WaitForStatusAsync(_host, id, "Running");

        await Cli.SucceedsAsync(_host, "suspend", "--id", id, "--reason", "maintenance");
        await Cli.WaitForStatusAsync(_host, id, "Suspended");
        await Cli.SucceedsAsync(_host, "resume", "--id", id, "--reason", "done");
        await Cli.WaitForStatusAsync(_host, id, "Running");
        var terminated = await Cli.SucceedsAsync(_host, "terminate", "--id", id, "--reason", "not needed", "--output", "json");
        var status = await Cli.WaitForStatusAsync(_host, id, "Terminated");
        var again = await Cli.RunAsync("terminate", "--id", id, "--url", _host.Url);

        Assert.Equal("terminate", terminated.Json.GetProperty("operation").GetString());
        Assert.Equal("not needed", status.GetProperty("output").GetString());
        Assert.Equal(ExitCodes.Refused, again.ExitCode);
        Assert.StartsWith("durable: Instance is not in a state for this operation:", again.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Rewind_CompletesAFailedInstance()
    {
        var id = NewId("rewind");
        var failed = await Cli.RunAsync("start-new", "--function-name", "FailsOnce", "--id", id, "--wait", "--url", _host.Url);
        Assert.Equal(ExitCodes.NotCompleted, failed.ExitCode);

        await Cli.SucceedsAsync(_host, "rewind", "--id", id, "--reason", "retry");

        var status = await Cli.WaitForStatusAsync(_host, id, "Completed");
        Assert.Equal("recovered", status.GetProperty("output").GetString());
    }

    [Fact]
    public async Task PurgeHistory_ById_ThenByFilter_AndUnknownIdIsNotFound()
    {
        var since = DateTimeOffset.UtcNow.AddSeconds(-1).ToString("O");
        var one = NewId("purge");
        var other = NewId("purge");
        await Cli.SucceedsAsync(_host, "start-new", "--function-name", "Greetings", "--id", one, "--wait");
        await Cli.SucceedsAsync(_host, "start-new", "--function-name", "WaitForApproval", "--id", other);
        await Cli.SucceedsAsync(_host, "terminate", "--id", other);
        await Cli.WaitForStatusAsync(_host, other, "Terminated");

        var byId = await Cli.SucceedsAsync(_host, "purge-history", "--id", one);
        var gone = await Cli.RunAsync("get-runtime-status", "--id", one, "--url", _host.Url);
        var byFilter = await Cli.SucceedsAsync(_host, "purge-history", "--runtime-status", "Terminated", "--created-after", since, "--output", "json");
        var nothingLeft = await Cli.SucceedsAsync(_host, "purge-history", "--runtime-status", "Terminated", "--created-after", since);

        Assert.Equal("Purged 1 instance.", byId.Stdout.Trim());
        Assert.Equal(ExitCodes.NotFound, gone.ExitCode);
        Assert.Equal($"durable: no instance '{one}'", gone.Stderr.Trim());
        Assert.True(byFilter.Json.GetProperty("instancesDeleted").GetInt32() >= 1);
        Assert.Equal("Purged 0 instances.", nothingLeft.Stdout.Trim());
        Assert.Equal(ExitCodes.NotFound, (await Cli.RunAsync("get-history", "--id", other, "--url", _host.Url)).ExitCode);
    }
}
