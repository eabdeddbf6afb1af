using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Workflows.Testing;
using Xunit;

namespace Workflows.Host.Tests;

/// <summary>The Durable Functions HTTP API end to end: real HTTP against a host on Azurite.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class ManagementApiTests(AzuriteFixture azurite)
{
    private const string Api = "runtime/webhooks/durabletask";

    [Fact]
    public async Task GenericStarter_Answers202WithCheckStatusPayload_ThenStatusReachesCompletedWithOutput()
    {
        await using var host = await TestHost.StartAsync(azurite.ConnectionString);

        using var response = await host.PostAsync("api/orchestrators/HelloSequence", "\"Lisbon\"");
        var payload = await response.Content.ReadFromJsonAsync<JsonElement>();
        var id = payload.GetProperty("id").GetString()!;

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal(payload.GetProperty("statusQueryGetUri").GetString(), response.Headers.Location!.ToString());
        Assert.NotNull(response.Headers.RetryAfter);
        foreach (var link in new[] { "statusQueryGetUri", "sendEventPostUri", "terminatePostUri", "purgeHistoryDeleteUri", "restartPostUri", "suspendPostUri", "resumePostUri", "rewindPostUri" })
        {
            Assert.StartsWith($"{host.BaseAddress}/{Api}/instances/{id}", payload.GetProperty(link).GetString(), StringComparison.Ordinal);
        }

        var status = await host.WaitForCompletionAsync(payload.GetProperty("statusQueryGetUri").GetString()!);
        Assert.Equal("Completed", status.GetProperty("runtimeStatus").GetString());
        Assert.Equal("HelloSequence", status.GetProperty("name").GetString());
        Assert.Equal(id, status.GetProperty("instanceId").GetString());
        Assert.Equal("Lisbon", status.GetProperty("input").GetString());
        Assert.Equal(["Hello Lisbon!", "Hello Seattle!", "Hello London!"], status.GetProperty("output").EnumerateArray().Select(static e => e.GetString()));
        Assert.True(status.GetProperty("createdTime").GetDateTimeOffset() <= status.GetProperty("lastUpdatedTime").GetDateTimeOffset());
    }

    [Fact]
    public async Task TypedStarterAndDurableFunctionsStartRoute_StartRunsUnderTheGivenId()
    {
        await using var host = await TestHost.StartAsync(azurite.ConnectionString);

        using var typed = await host.PostAsync("api/fanout/10");
        using var dfRoute = await host.PostAsync($"{Api}/orchestrators/HelloSequence/chosen-id", "\"Oslo\"");

        Assert.Equal(HttpStatusCode.Accepted, typed.StatusCode);
        var fan = await host.WaitForCompletionAsync((await typed.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("statusQueryGetUri").GetString()!);
        Assert.Equal(285, fan.GetProperty("output").GetInt64());
        Assert.Equal(HttpStatusCode.Accepted, dfRoute.StatusCode);
        Assert.Equal("chosen-id", (await dfRoute.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString());
        var hello = await host.WaitForStatusAsync("chosen-id", static s => TestHost.IsStatus(s, "Completed"));
        Assert.Equal("Hello Oslo!", hello.GetProperty("output")[0].GetString());
    }

    [Fact]
    public async Task GetStatus_HistoryFlags_ControlHistoryOutputAndInput()
    {
        await using var host = await TestHost.StartAsync(azurite.ConnectionString);
        var id = await host.StartAsync("HelloSequence", "\"Rome\"");
        await host.WaitForStatusAsync(id, static s => TestHost.IsStatus(s, "Completed"));

        var full = await host.Http.GetFromJsonAsync<JsonElement>($"{Api}/instances/{id}?showHistory=true&showHistoryOutput=true");
        var bare = await host.Http.GetFromJsonAsync<JsonElement>($"{Api}/instances/{id}?showHistory=true&showInput=false");
        var plain = await host.Http.GetFromJsonAsync<JsonElement>($"{Api}/instances/{id}");

        var events = full.GetProperty("historyEvents").EnumerateArray().ToList();
        var completed = events.Where(static e => e.GetProperty("EventType").GetString() == "TaskCompleted").ToList();
        Assert.Equal(3, completed.Count);
        Assert.Equal("Hello Rome!", completed[0].GetProperty("Result").GetString());
        Assert.Equal("Rome", completed[0].GetProperty("Input").GetString());
        Assert.Equal("Rome", events[0].GetProperty("Input").GetString());
        Assert.DoesNotContain(bare.GetProperty("historyEvents").EnumerateArray(), static e => e.TryGetProperty("Result", out _) || e.TryGetProperty("Input", out _));
        Assert.Equal(JsonValueKind.Null, bare.GetProperty("input").ValueKind);
        Assert.False(plain.TryGetProperty("historyEvents", out _));
    }

    /// <summary>
    /// The history of HelloSequence (no input: Tokyo, Seattle, London), event by event, against the example of
    /// Durable Functions' HTTP API reference ("Get instance status", showHistory and showHistoryOutput).
    /// </summary>
    [Fact]
    public async Task GetStatus_ShowHistory_MatchesDurableFunctionsDocumentedExample()
    {
        const string documented = """
            [
              { "EventType": "ExecutionStarted", "FunctionName": "E1_HelloSequence", "Timestamp": "2018-02-28T05:18:49.3452372Z" },
              { "EventType": "TaskCompleted", "FunctionName": "E1_SayHello", "Result": "Hello Tokyo!", "ScheduledTime": "2018-02-28T05:18:51.3939873Z", "Timestamp": "2018-02-28T05:18:52.2895622Z" },
              { "EventType": "TaskCompleted", "FunctionName": "E1_SayHello", "Result": "Hello Seattle!", "ScheduledTime": "2018-02-28T05:18:52.8755705Z", "Timestamp": "2018-02-28T05:18:53.1765771Z" },
              { "EventType": "TaskCompleted", "FunctionName": "E1_SayHello", "Result": "Hello London!", "ScheduledTime": "2018-02-28T05:18:53.5170791Z", "Timestamp": "2018-02-28T05:18:53.891081Z" },
              { "EventType": "ExecutionCompleted", "OrchestrationStatus": "Completed", "Result": [ "Hello Tokyo!", "Hello Seattle!", "Hello London!" ], "Timestamp": "2018-02-28T05:18:54.3660895Z" }
            ]
            """;
        await using var host = await TestHost.StartAsync(azurite.ConnectionString);
        var id = await host.StartAsync("HelloSequence");
        await host.WaitForStatusAsync(id, static s => TestHost.IsStatus(s, "Completed"));

        var status = await host.Http.GetFromJsonAsync<JsonElement>($"{Api}/instances/{id}?showHistory=true&showHistoryOutput=true&showInput=false");

        var expected = JsonDocument.Parse(documented).RootElement.EnumerateArray().ToList();
        var actual = status.GetProperty("historyEvents").EnumerateArray().ToList();
        Assert.Equal(expected.Count, actual.Count);
        foreach (var (want, got) in expected.Zip(actual))
        {
            Assert.Equal(Names(want), Names(got));
            foreach (var property in want.EnumerateObject())
            {
                var value = got.GetProperty(property.Name);
                Assert.Equal(property.Value.ValueKind, value.ValueKind);
                switch (property.Name)
                {
                    case "Timestamp" or "ScheduledTime":
                        Assert.Equal(DateTimeKind.Utc, value.GetDateTime().Kind);
                        break;
                    case "FunctionName":
                        Assert.Equal(property.Value.GetString()!.Replace("E1_", string.Empty, StringComparison.Ordinal), value.GetString());
                        break;
                    default:
                        Assert.True(JsonElement.DeepEquals(property.Value, value), $"{property.Name}: expected {property.Value}, got {value}");
                        break;
                }
            }

            if (got.TryGetProperty("ScheduledTime", out var scheduled))
            {
                Assert.True(scheduled.GetDateTime() <= got.GetProperty("Timestamp").GetDateTime());
            }
        }

        static List<string> Names(JsonElement element) => [.. element.EnumerateObject().Select(static p => p.Name).Order(StringComparer.Ordinal)];
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task ListByName_AndCountsPerStatus_FollowTheFilters(bool onAzurite)
    {
        // Our task hub filters by name in its table query; the in-memory backend's pages are filtered by the host.
        await using var host = await TestHost.StartAsync(onAzurite ? azurite.ConnectionString : null, app: TestApps.Worker);
        var greetings = await host.RunToEndAsync("Greetings", "\"Oslo\"");
        var waiting = await host.StartAsync("WaitForApproval");
        await host.WaitForStatusAsync(waiting, static s => TestHost.IsStatus(s, "Running"));
        await host.RunToEndAsync("FailsOnce", null, expected: "Failed");

        using var byName = await host.Http.GetAsync(new Uri($"{Api}/instances?name=GREET&top=1000", UriKind.Relative));
        Assert.Equal([greetings], (await byName.Content.ReadFromJsonAsync<JsonElement>()).EnumerateArray().Select(static i => i.GetProperty("instanceId").GetString()));

        var counts = await host.Http.GetFromJsonAsync<JsonElement>(new Uri($"{Api}/counts", UriKind.Relative));
        Assert.Equal(3, counts.GetProperty("total").GetInt64());
        Assert.Equal(
            (1, 1, 1, 0),
            (counts.GetProperty("counts").GetProperty("Completed").GetInt64(), counts.GetProperty("counts").GetProperty("Running").GetInt64(),
             counts.GetProperty("counts").GetProperty("Failed").GetInt64(), counts.GetProperty("counts").GetProperty("Pending").GetInt64()));
        var named = await host.Http.GetFromJsonAsync<JsonElement>(new Uri($"{Api}/counts?name=wait&runtimeStatus=Running", UriKind.Relative));
        Assert.Equal(1, named.GetProperty("total").GetInt64());

        using var bad = await host.Http.GetAsync(new Uri($"{Api}/counts?createdTimeFrom=yesterday", UriKind.Relative));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("createdTimeFrom", await bad.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnknownInstanceOrOrchestrator_Answers404()
    {
        await using var host = await TestHost.StartAsync(azurite.ConnectionString);

        using var get = await host.Http.GetAsync(new Uri($"{Api}/instances/nobody", UriKind.Relative));
        using var start = await host.PostAsync("api/orchestrators/NoSuchOrchestrator");
        using var activityAsOrchestrator = await host.PostAsync("api/orchestrators/SayHello");
        using var terminate = await host.PostAsync($"{Api}/instances/nobody/terminate");
        using var purge = await host.Http.DeleteAsync(new Uri($"{Api}/instances/nobody", UriKind.Relative));

        Assert.All([get, start, activityAsOrchestrator, terminate, purge], static r => Assert.Equal(HttpStatusCode.NotFound, r.StatusCode));
        // The app's starter answers the task hub's refusal as problem+json naming the orchestrator.
        Assert.Equal("application/problem+json", start.Content.Headers.ContentType!.MediaType);
        Assert.Contains("NoSuchOrchestrator", (await start.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task RaiseEvent_CompletesWaitingInstance_ThenAnswers410()
    {
        await using var host = await TestHost.StartAsync(azurite.ConnectionString, app: TestApps.Worker);
        var id = await host.StartAsync("WaitForApproval");
        var waiting = await host.WaitForStatusAsync(id, static s => TestHost.IsStatus(s, "Running") && s.GetProperty("customStatus").ValueKind == JsonValueKind.String);

        using var raise = await host.PostAsync($"{Api}/instances/{id}/raiseEvent/Approval", "\"ada\"");
        var done = await host.WaitForStatusAsync(id, static s => TestHost.IsStatus(s, "Completed"));
        using var again = await host.PostAsync($"{Api}/instances/{id}/raiseEvent/Approval", "\"bob\"");

        Assert.Equal("waiting for approval", waiting.GetProperty("customStatus").GetString());
        Assert.Equal(HttpStatusCode.Accepted, raise.StatusCode);
        Assert.Equal("approved by ada", done.GetProperty("output").GetString());
        Assert.Equal(HttpStatusCode.Gone, again.StatusCode);
    }

    [Fact]
    public async Task SuspendResumeTerminate_ChangeStatus_ThenTerminateAgainAnswers410()
    {
        await using var host = await TestHost.StartAsync(azurite.ConnectionString, app: TestApps.Worker);
        var id = await host.StartAsync("WaitForApproval");
        await host.WaitForStatusAsync(id, static s => TestHost.IsStatus(s, "Running"));

        using var suspend = await host.PostAsync($"{Api}/instances/{id}/suspend?reason=pause");
        await host.WaitForStatusAsync(id, static s => TestHost.IsStatus(s, "Suspended"));
        using var resume = await host.PostAsync($"{Api}/instances/{id}/resume?reason=go");
        await host.WaitForStatusAsync(id, static s => TestHost.IsStatus(s, "Running"));
        using var terminate = await host.PostAsync($"{Api}/instances/{id}/terminate?reason=stop");
        var terminated = await host.WaitForStatusAsync(id, static s => TestHost.IsStatus(s, "Terminated"));
        using var again = await host.PostAsync($"{Api}/instances/{id}/terminate");
        using var suspendFinished = await host.PostAsync($"{Api}/instances/{id}/suspend");

        Assert.Equal(HttpStatusCode.Accepted, suspend.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, resume.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, terminate.StatusCode);
        Assert.Equal("stop", terminated.GetProperty("output").GetString());
        Assert.Equal(HttpStatusCode.Gone, again.StatusCode);
        Assert.Equal(HttpStatusCode.Gone, suspendFinished.StatusCode);
    }

    [Fact]
    public async Task Rewind_FailedInstance_Completes_AndRewindOfCompletedAnswers410()
    {
        await using var host = await TestHost.StartAsync(azurite.ConnectionString, app: TestApps.Worker);
        var id = await host.StartAsync("FailsOnce");
        var failed = await host.WaitForStatusAsync(id, static s => TestHost.IsStatus(s, "Failed"));

        using var rewind = await host.PostAsync($"{Api}/instances/{id}/rewind?reason=retry");
        var completed = await host.WaitForStatusAsync(id, static s => TestHost.IsStatus(s, "Completed"));
        using var again = await host.PostAsync($"{Api}/instances/{id}/rewind");

        Assert.Contains("first attempt fails", failed.GetProperty("output").GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Accepted, rewind.StatusCode);
        Assert.Equal("recovered", completed.GetProperty("output").GetString());
        Assert.Equal(HttpStatusCode.Gone, again.StatusCode);
    }

    [Fact]
    public async Task Restart_SameOrNewId_RunsAgainWithTheOriginalInput()
    {
        await using var host = await TestHost.StartAsync(azurite.ConnectionString);
        var id = await host.StartAsync("HelloSequence", "\"Paris\"");
        var first = await host.WaitForStatusAsync(id, static s => TestHost.IsStatus(s, "Completed"));

        using var sameId = await host.PostAsync($"{Api}/instances/{id}/restart?restartWithNewInstanceId=false");
        var sameIdPayload = await sameId.Content.ReadFromJsonAsync<JsonElement>();
        var rerun = await host.WaitForStatusAsync(id, s => TestHost.IsStatus(s, "Completed") && s.GetProperty("createdTime").GetString() != first.GetProperty("createdTime").GetString());
        using var newId = await host.PostAsync($"{Api}/instances/{id}/restart");
        var newIdValue = (await newId.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        var copy = await host.WaitForStatusAsync(newIdValue, static s => TestHost.IsStatus(s, "Completed"));

        Assert.Equal(HttpStatusCode.Accepted, sameId.StatusCode);
        Assert.Equal(id, sameIdPayload.GetProperty("id").GetString());
        Assert.Equal("Hello Paris!", rerun.GetProperty("output")[0].GetString());
        Assert.NotEqual(id, newIdValue);
        Assert.Equal("Paris", copy.GetProperty("input").GetString());
    }

    [Fact]
    public async Task ListAndPurge_FilterPageAndDelete()
    {
        await using var host = await TestHost.StartAsync(azurite.ConnectionString);
        var prefix = "list-" + Guid.NewGuid().ToString("N")[..8];
        foreach (var n in new[] { 1, 2, 3 })
        {
            await host.StartAsync("HelloSequence", $"\"City{n}\"", $"{prefix}-{n}");
        }

        foreach (var n in new[] { 1, 2, 3 })
        {
            await host.WaitForStatusAsync($"{prefix}-{n}", static s => TestHost.IsStatus(s, "Completed"));
        }

        using var first = await host.Http.GetAsync(new Uri($"{Api}/instances?instanceIdPrefix={prefix}&runtimeStatus=Completed,Failed&top=2&showInput=true", UriKind.Relative));
        var firstPage = await first.Content.ReadFromJsonAsync<JsonElement>();
        var token = first.Headers.GetValues("x-ms-continuation-token").Single();
        using var nextRequest = new HttpRequestMessage(HttpMethod.Get, $"{Api}/instances?instanceIdPrefix={prefix}&runtimeStatus=Completed,Failed&top=2");
        nextRequest.Headers.Add("x-ms-continuation-token", token);
        using var next = await host.Http.SendAsync(nextRequest);
        var nextPage = await next.Content.ReadFromJsonAsync<JsonElement>();
        var running = await host.Http.GetFromJsonAsync<JsonElement>($"{Api}/instances?instanceIdPrefix={prefix}&runtimeStatus=Running");
        using var badStatus = await host.Http.GetAsync(new Uri($"{Api}/instances?runtimeStatus=Sleeping", UriKind.Relative));
        using var badTop = await host.Http.GetAsync(new Uri($"{Api}/instances?top=0", UriKind.Relative));

        using var purgeOne = await host.Http.DeleteAsync(new Uri($"{Api}/instances/{prefix}-1", UriKind.Relative));
        using var afterPurge = await host.Http.GetAsync(new Uri($"{Api}/instances/{prefix}-1", UriKind.Relative));
        using var purgeMany = await host.Http.DeleteAsync(new Uri($"{Api}/instances?runtimeStatus=Completed&createdTimeFrom=2000-01-01T00:00:00Z", UriKind.Relative));
        using var purgeNone = await host.Http.DeleteAsync(new Uri($"{Api}/instances?runtimeStatus=Completed", UriKind.Relative));

        Assert.Equal(2, firstPage.GetArrayLength());
        Assert.Equal(1, nextPage.GetArrayLength());
        Assert.False(next.Headers.Contains("x-ms-continuation-token"));
        Assert.StartsWith("City", firstPage[0].GetProperty("input").GetString(), StringComparison.Ordinal);
        Assert.Equal(3, firstPage.EnumerateArray().Concat(nextPage.EnumerateArray()).Select(static e => e.GetProperty("instanceId").GetString()).Distinct().Count());
        Assert.Equal(0, running.GetArrayLength());
        Assert.Equal(HttpStatusCode.BadRequest, badStatus.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, badTop.StatusCode);
        Assert.Equal(1, (await purgeOne.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("instancesDeleted").GetInt32());
        Assert.Equal(HttpStatusCode.NotFound, afterPurge.StatusCode);
        Assert.Equal(2, (await purgeMany.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("instancesDeleted").GetInt32());
        Assert.Equal(HttpStatusCode.NotFound, purgeNone.StatusCode);
    }

    [Fact]
    public async Task PurgeRunningInstance_Answers409AndKeepsIt()
    {
        await using var host = await TestHost.StartAsync(azurite.ConnectionString, app: TestApps.Worker);
        var id = await host.StartAsync("WaitForApproval");
        await host.WaitForStatusAsync(id, static s => TestHost.IsStatus(s, "Running"));

        using var purge = await host.Http.DeleteAsync(new Uri($"{Api}/instances/{id}", UriKind.Relative));
        using var status = await host.Http.GetAsync(new Uri($"{Api}/instances/{id}", UriKind.Relative));

        Assert.Equal(HttpStatusCode.Conflict, purge.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, status.StatusCode);
    }
}
