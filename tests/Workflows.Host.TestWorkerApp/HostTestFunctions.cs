using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask;

namespace Workflows.Host.TestWorkerApp;

/// <summary>
/// The functions the host and CLI tests drive over HTTP: a three-step sequence, an orchestration that waits for an
/// event, one that reports progress, one that fails once, HTTP triggers that throw, hang or read a body, and timers that record each firing.
/// </summary>
public static class HostTestFunctions
{
    /// <summary>The app setting naming the folder the timers record their firings in (one JSON file per firing).</summary>
    public const string TimerProbeSetting = "TimerProbeFolder";

    private static readonly ConcurrentDictionary<string, int> FlakyAttempts = new(StringComparer.Ordinal);

    /// <summary>Waits for the <c>Approval</c> event and returns who approved.</summary>
    [Function(nameof(WaitForApproval))]
    public static async Task<string> WaitForApproval([OrchestrationTrigger] TaskOrchestrationContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        context.SetCustomStatus("waiting for approval");
        var approver = await context.WaitForExternalEvent<string>("Approval");
        return $"approved by {approver}";
    }

    /// <summary>Greets the input city (Tokyo when none), then Seattle and London, one activity after another: three completed tasks.</summary>
    [Function(nameof(Greetings))]
    public static async Task<List<string>> Greetings([OrchestrationTrigger] TaskOrchestrationContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var input = context.GetInput<string?>();
        var greetings = new List<string>();
        foreach (var city in new[] { string.IsNullOrWhiteSpace(input) ? "Tokyo" : input, "Seattle", "London" })
        {
            greetings.Add(await context.CallActivityAsync<string>(nameof(Greet), city));
        }

        return greetings;
    }

    /// <summary>An activity: a greeting for the city.</summary>
    [Function(nameof(Greet))]
    public static string Greet([ActivityTrigger] string city) => $"Hello {city}!";

    /// <summary>Runs <c>total</c> steps (the input), reporting <c>{ phase, done, total }</c> in customStatus after each.</summary>
    [Function(nameof(ProgressSteps))]
    public static async Task<int> ProgressSteps([OrchestrationTrigger] TaskOrchestrationContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var total = context.GetInput<int>();
        context.SetCustomStatus(new { phase = "stepping", done = 0, total });
        for (var done = 1; done <= total; done++)
        {
            await context.CallActivityAsync<int>(nameof(Step), done);
            context.SetCustomStatus(new { phase = "stepping", done, total });
        }

        return total;
    }

    /// <summary>An activity that returns its input.</summary>
    [Function(nameof(Step))]
    public static int Step([ActivityTrigger] int step) => step;

    /// <summary>Calls <see cref="Flaky"/>, which fails on its first attempt per instance, so a rewind completes it.</summary>
    [Function(nameof(FailsOnce))]
    public static Task<string> FailsOnce([OrchestrationTrigger] TaskOrchestrationContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.CallActivityAsync<string>(nameof(Flaky), context.InstanceId);
    }

    /// <summary>An activity that fails its first attempt for a key (while this worker process lives) and recovers after.</summary>
    [Function(nameof(Flaky))]
    public static string Flaky([ActivityTrigger] string key) =>
        FlakyAttempts.AddOrUpdate(key, 1, static (_, n) => n + 1) == 1 ? throw new InvalidOperationException("first attempt fails") : "recovered";

    /// <summary>
    /// A history with every kind of timeline entry: a fan-out of three <see cref="Greet"/> calls, a timer,
    /// <see cref="Flaky"/> retried after its first failure, the <see cref="Greetings"/> sub-orchestration, the <c>Go</c>
    /// event, and a last activity that fails (caught). Returns what the retried activity returned.
    /// </summary>
    [Function(nameof(TimelineSample))]
    public static async Task<string> TimelineSample([OrchestrationTrigger] TaskOrchestrationContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        await Task.WhenAll(new[] { "Oslo", "Rome", "Kyiv" }.Select(city => context.CallActivityAsync<string>(nameof(Greet), city)));
        await context.CreateTimer(context.CurrentUtcDateTime.AddMilliseconds(200), CancellationToken.None);
        var recovered = await context.CallActivityAsync<string>(
            nameof(Flaky), context.InstanceId, TaskOptions.FromRetryPolicy(new RetryPolicy(3, TimeSpan.FromMilliseconds(200))));
        await context.CallSubOrchestratorAsync<List<string>>(nameof(Greetings), "Lisbon");
        context.SetCustomStatus("waiting for Go");
        await context.WaitForExternalEvent<string>("Go");
        try
        {
            await context.CallActivityAsync<string>(nameof(TestFunctions.Throw), "last step");
        }
        catch (TaskFailedException)
        {
            context.SetCustomStatus("done");
        }

        return recovered;
    }

    /// <summary>Returns its input as its output: the dashboard tests draw a workflow output's shape from it.</summary>
    [Function(nameof(ReturnInput))]
    public static Task<JsonElement> ReturnInput([OrchestrationTrigger] TaskOrchestrationContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return Task.FromResult(context.GetInput<JsonElement>());
    }

    /// <summary>An HTTP trigger that throws an exception whose message must not reach the caller.</summary>
    [Function(nameof(Boom))]
    public static IActionResult Boom([HttpTrigger(AuthorizationLevel.Anonymous, "get")] HttpRequest request) =>
        throw new InvalidOperationException("secret internal detail");

    /// <summary>An HTTP trigger that never answers: it waits until the invocation is cancelled.</summary>
    [Function(nameof(Slow))]
    public static async Task<IActionResult> Slow([HttpTrigger(AuthorizationLevel.Anonymous, "get")] HttpRequest request, FunctionContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        using var cancelled = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, request.HttpContext.RequestAborted);
        await Task.Delay(Timeout.InfiniteTimeSpan, cancelled.Token);
        return new OkObjectResult("never");
    }

    /// <summary>An HTTP trigger that sums the JSON array of integers in its body.</summary>
    [Function(nameof(Sum))]
    public static async Task<IActionResult> Sum([HttpTrigger(AuthorizationLevel.Anonymous, "post")] HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var numbers = await request.ReadFromJsonAsync<int[]>(request.HttpContext.RequestAborted) ?? [];
        return new OkObjectResult(numbers.Sum());
    }

    /// <summary>A timer every five minutes that records each firing.</summary>
    [Function(nameof(EveryFiveMinutes))]
    public static Task EveryFiveMinutes([TimerTrigger("0 */5 * * * *")] TimerInfo timer) => RecordAsync(nameof(EveryFiveMinutes), timer);

    /// <summary>A yearly timer that also runs when the host starts, recording each firing.</summary>
    [Function(nameof(OnStartup))]
    public static Task OnStartup([TimerTrigger("0 0 0 1 1 *", RunOnStartup = true)] TimerInfo timer) => RecordAsync(nameof(OnStartup), timer);

    /// <summary>
    /// Writes the firing to <c>{TimerProbeFolder}/{function}-{utc ticks}-{guid}.json</c> (written to a temporary name and
    /// moved, so a reader never sees half a file); nothing when the setting is absent.
    /// </summary>
    private static async Task RecordAsync(string function, TimerInfo timer)
    {
        var folder = Environment.GetEnvironmentVariable(TimerProbeSetting);
        if (string.IsNullOrEmpty(folder))
        {
            return;
        }

        var name = $"{function}-{DateTime.UtcNow.Ticks.ToString("D20", CultureInfo.InvariantCulture)}-{Guid.NewGuid():N}";
        var temporary = Path.Combine(folder, name + ".tmp");
        await File.WriteAllTextAsync(temporary, JsonSerializer.Serialize(new TimerFiring(timer.IsPastDue, timer.ScheduleStatus?.Last, timer.ScheduleStatus?.Next, timer.ScheduleStatus?.LastUpdated)));
        File.Move(temporary, Path.Combine(folder, name + ".json"));
    }
}

/// <summary>One recorded timer firing: what the host bound as the function's <see cref="TimerInfo"/>.</summary>
public sealed record TimerFiring(bool IsPastDue, DateTime? Last, DateTime? Next, DateTime? LastUpdated);
