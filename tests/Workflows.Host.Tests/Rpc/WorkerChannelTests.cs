using System.Text.Json;
using Microsoft.Azure.WebJobs.Script.Grpc.Messages;
using Microsoft.Extensions.Logging;
using Workflows.Host.Rpc;
using Xunit;

namespace Workflows.Host.Tests.Rpc;

/// <summary>One worker of the test app, shared by the tests that do not end it.</summary>
public sealed class WorkerAppFixture : IAsyncLifetime
{
    /// <summary>An app setting whose value must reach the worker and never the log.</summary>
    public const string SecretSetting = "WorkflowsTestSecret";

    public const string SecretValue = "s3cr3t-value-that-must-not-be-logged";

    private WorkerChannel? _channel;

    public ScopedLogs Logs { get; } = new();

    internal WorkerChannel Channel => _channel ?? throw new InvalidOperationException("Not started.");

    public async Task InitializeAsync() =>
        _channel = await WorkerApp.StartAsync(WorkerApp.Options(new Dictionary<string, string> { [SecretSetting] = SecretValue }), Logs);

    public async Task DisposeAsync()
    {
        if (_channel is not null)
        {
            await _channel.DisposeAsync();
        }
    }
}

public sealed class WorkerChannelTests(WorkerAppFixture fixture) : IClassFixture<WorkerAppFixture>
{
    private static readonly TimeSpan SafetyTimeout = TimeSpan.FromSeconds(60);

    [Fact]
    public void Handshake_ListsTheAppsFunctionsWithTheirBindings()
    {
        var functions = fixture.Channel.Functions.ToDictionary(function => function.Name);

        Assert.Equal(
            ["Boom", "CatchThrow", "Crash", "CrashOnce", "Echo", "EveryFiveMinutes", "Fail", "FailsOnce", "Flaky", "Gated", "GatedFanOut", "Greet", "Greetings", "Hello", "Measure", "MeasureAll", "OnStartup", "ProgressSteps", "ReturnInput", "Setting", "Slow", "StartUppercase", "Step", "Sum", "SurviveCrash", "Throw", "Tick", "TimelineSample", "Uppercase", "UppercaseAll", "WaitForApproval", "WaitForCancel"],
            functions.Keys.Order(StringComparer.Ordinal));
        var uppercase = functions["Uppercase"];
        var trigger = Assert.Single(uppercase.Bindings);
        Assert.Equal(("input", "activityTrigger", WorkerBindingDirection.In), (trigger.Name, trigger.Type, trigger.Direction));
        Assert.Same(trigger, uppercase.Trigger);
        Assert.EndsWith("TestFunctions.Uppercase", uppercase.EntryPoint, StringComparison.Ordinal);
        Assert.False(string.IsNullOrEmpty(uppercase.Id));

        var hello = functions["Hello"];
        Assert.Equal(("request", "httpTrigger", WorkerBindingDirection.In), (hello.Trigger!.Name, hello.Trigger.Type, hello.Trigger.Direction));
        Assert.Contains(hello.Bindings, binding => binding is { Name: "$return", Type: "http", Direction: WorkerBindingDirection.Out });
        Assert.Contains("\"get\"", hello.Trigger.RawJson, StringComparison.Ordinal);

        var tick = functions["Tick"].Trigger!;
        Assert.Equal("timerTrigger", tick.Type);
        Assert.Contains("0 */5 * * * *", tick.RawJson, StringComparison.Ordinal);
    }

    [Fact]
    public void Handshake_RecordsTheWorkersCapabilities_IncludingWhereItsAspNetCoreIntegrationListens()
    {
        Assert.True(fixture.Channel.WorkerCapabilities.TryGetValue("HttpUri", out var httpUri), string.Join(", ", fixture.Channel.WorkerCapabilities.Keys));
        Assert.True(Uri.TryCreate(httpUri, UriKind.Absolute, out var uri) && uri.Port > 0, httpUri);
        Assert.NotNull(fixture.Channel.ProcessId);
        Assert.Equal(Uri.UriSchemeHttp, fixture.Channel.Address!.Scheme);
    }

    [Fact]
    public async Task Invoke_Activity_ReturnsItsOutput()
    {
        using var timeout = new CancellationTokenSource(SafetyTimeout);

        // The activity's input goes as JSON text (here a JSON string) named after the trigger parameter.
        var response = await fixture.Channel.InvokeAsync("Uppercase", [WorkerApp.ActivityInput("input", "\"hello, worker\"")], null, timeout.Token);

        Assert.True(response.Result.Status == StatusResult.Types.Status.Success, response.Result.Exception?.Message);
        // A string result comes back as a string, not as JSON text.
        Assert.Equal(TypedData.DataOneofCase.String, response.ReturnValue.DataCase);
        Assert.Equal("HELLO, WORKER", response.ReturnValue.String);
        // The function's own log comes over the stream, in the scope of its function and invocation.
        var log = Assert.Single(fixture.Logs.Entries, entry => entry.Message == "Uppercasing 13 characters");
        Assert.Equal(LogLevel.Information, log.Level);
        Assert.Equal("Uppercase", log.Scope["FunctionName"]);
        Assert.False(string.IsNullOrEmpty(log.Scope["InvocationId"] as string));
    }

    [Fact]
    public async Task Invoke_RawRequest_IsCorrelatedByItsInvocationId()
    {
        using var timeout = new CancellationTokenSource(SafetyTimeout);
        var uppercase = fixture.Channel.Functions.Single(function => function.Name == "Uppercase");
        var requests = Enumerable.Range(0, 8).Select(i =>
        {
            var request = new InvocationRequest { InvocationId = $"raw-{i}", FunctionId = uppercase.Id };
            request.InputData.Add(WorkerApp.ActivityInput("input", $"\"call {i}\""));
            return request;
        }).ToList();

        var responses = await Task.WhenAll(requests.Select(request => fixture.Channel.InvokeAsync(request, timeout.Token)));

        for (var i = 0; i < requests.Count; i++)
        {
            Assert.Equal($"raw-{i}", responses[i].InvocationId);
            Assert.Equal($"CALL {i}", responses[i].ReturnValue.String);
        }
    }

    [Fact]
    public async Task Invoke_ActivityWithObjects_TakesJsonIn_AndGivesJsonBack()
    {
        using var timeout = new CancellationTokenSource(SafetyTimeout);

        // The input may come as TypedData.Json as well; property names bind case-insensitively.
        var input = new ParameterBinding { Name = "input", Data = new TypedData { Json = """{"text":"a b c","weight":2}""" } };
        var response = await fixture.Channel.InvokeAsync("Measure", [input], null, timeout.Token);

        Assert.True(response.Result.Status == StatusResult.Types.Status.Success, response.Result.Exception?.Message);
        Assert.Equal(TypedData.DataOneofCase.Json, response.ReturnValue.DataCase);
        using var output = JsonDocument.Parse(response.ReturnValue.Json);
        Assert.Equal(5, output.RootElement.GetProperty("length").GetInt32());
        Assert.Equal(6, output.RootElement.GetProperty("weightedWords").GetInt32());
    }

    [Fact]
    public async Task Invoke_ActivityReturningNull_HasNoReturnValue()
    {
        using var timeout = new CancellationTokenSource(SafetyTimeout);

        var response = await fixture.Channel.InvokeAsync("Setting", [WorkerApp.ActivityInput("name", "\"WORKFLOWS_NO_SUCH_VARIABLE\"")], null, timeout.Token);

        Assert.Equal(StatusResult.Types.Status.Success, response.Result.Status);
        Assert.Null(response.ReturnValue);
    }

    [Fact]
    public async Task Invoke_ThrowingActivity_FailsWithTheFailureDetailsAsJson()
    {
        using var timeout = new CancellationTokenSource(SafetyTimeout);

        var response = await fixture.Channel.InvokeAsync("Throw", [WorkerApp.ActivityInput("input", "\"boom\"")], null, timeout.Token);

        Assert.Equal(StatusResult.Types.Status.Failure, response.Result.Status);
        Assert.True(response.Result.Exception.IsUserException);
        using var details = JsonDocument.Parse(response.Result.Exception.Message);
        Assert.Equal("System.InvalidOperationException", details.RootElement.GetProperty("errorType").GetString());
        Assert.Equal("Throw was asked to fail: boom", details.RootElement.GetProperty("errorMessage").GetString());
    }

    [Fact]
    public async Task Invoke_ActivityInputThatIsNotJson_FailsToBind()
    {
        using var timeout = new CancellationTokenSource(SafetyTimeout);

        var response = await fixture.Channel.InvokeAsync("Uppercase", [WorkerApp.ActivityInput("input", "not-json")], null, timeout.Token);

        Assert.Equal(StatusResult.Types.Status.Failure, response.Result.Status);
        Assert.Contains("Failed to deserialize input for activity function 'Uppercase'", response.Result.Exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AppSettings_ReachTheWorkerAsEnvironmentVariables_AndNeverTheLog()
    {
        using var timeout = new CancellationTokenSource(SafetyTimeout);

        var setting = await fixture.Channel.InvokeAsync("Setting", [WorkerApp.ActivityInput("name", $"\"{WorkerAppFixture.SecretSetting}\"")], null, timeout.Token);
        var directory = await fixture.Channel.InvokeAsync("Setting", [WorkerApp.ActivityInput("name", "\"FUNCTIONS_APPLICATION_DIRECTORY\"")], null, timeout.Token);

        Assert.Equal(WorkerAppFixture.SecretValue, setting.ReturnValue.String);
        Assert.Equal(WorkerApp.Directory, directory.ReturnValue.String);
        Assert.NotEmpty(fixture.Logs.Entries);
        Assert.DoesNotContain(fixture.Logs.Entries, entry => entry.Message.Contains(WorkerAppFixture.SecretValue, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Invoke_Cancelled_StopsWaiting_AndTheWorkerCancelsTheFunction()
    {
        using var timeout = new CancellationTokenSource(SafetyTimeout);
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token);
        var marker = Guid.NewGuid().ToString("N");

        var invocation = fixture.Channel.InvokeAsync("WaitForCancel", [WorkerApp.ActivityInput("marker", $"\"{marker}\"")], null, cancel.Token);
        await fixture.Logs.WaitForAsync(entry => entry.Message == "Waiting: " + marker, timeout.Token);
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => invocation);
        var cancelled = await fixture.Logs.WaitForAsync(entry => entry.Message == "Cancelled: " + marker, timeout.Token);
        Assert.Equal(LogLevel.Information, cancelled.Level);
    }

    [Fact]
    public async Task Invoke_UnknownFunction_IsAnArgumentError()
    {
        using var timeout = new CancellationTokenSource(SafetyTimeout);

        var error = await Assert.ThrowsAsync<ArgumentException>(() => fixture.Channel.InvokeAsync("NoSuchFunction", [], null, timeout.Token));

        Assert.Contains("NoSuchFunction", error.Message, StringComparison.Ordinal);
    }
}
