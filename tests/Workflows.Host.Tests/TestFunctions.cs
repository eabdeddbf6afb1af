using System.Collections.Concurrent;
using System.Net.Http.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Workflows.Host.Functions;

namespace Workflows.Host.Tests;

/// <summary>Functions the host tests add to the sample app: waits, failures and bad input.</summary>
public static class TestFunctions
{
    private static readonly ConcurrentDictionary<string, int> FlakyAttempts = new(StringComparer.Ordinal);

    [Function("WaitForApproval")]
    public static async Task<string> WaitForApproval([OrchestrationTrigger] TaskOrchestrationContext context)
    {
        context.SetCustomStatus("waiting");
        var approver = await context.WaitForExternalEvent<string>("Approval");
        return $"approved by {approver}";
    }

    /// <summary>Fails on its first attempt per instance, so a rewind completes it.</summary>
    [Function("FailsOnce")]
    public static Task<string> FailsOnce([OrchestrationTrigger] TaskOrchestrationContext context) =>
        context.CallActivityAsync<string>("Flaky", context.InstanceId);

    [Function("Flaky")]
    public static string Flaky([ActivityTrigger] string key) =>
        FlakyAttempts.AddOrUpdate(key, 1, static (_, n) => n + 1) == 1 ? throw new InvalidOperationException("first attempt fails") : "recovered";

    [Function("Boom")]
    public static string Boom([HttpTrigger(AuthorizationLevel.Anonymous, "get")] HttpRequest request) =>
        throw new InvalidOperationException("secret internal detail");

    [Function("Slow")]
    public static async Task<string> Slow([HttpTrigger(AuthorizationLevel.Anonymous, "get")] HttpRequest request, CancellationToken cancellationToken)
    {
        await Task.Delay(Timeout.InfiniteTimeSpan, cancellationToken);
        return "never";
    }

    [Function("Sum")]
    public static async Task<int> Sum([HttpTrigger(AuthorizationLevel.Anonymous, "post")] HttpRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var numbers = await request.ReadFromJsonAsync<int[]>(cancellationToken) ?? [];
        return numbers.Sum();
    }

    [Function("EveryFiveMinutes")]
    public static void EveryFiveMinutes([TimerTrigger("0 */5 * * * *")] TimerInfo timer, TimerProbe? probe = null) => probe?.Record("EveryFiveMinutes", timer);

    [Function("OnStartup")]
    public static void OnStartup([TimerTrigger("0 0 0 1 1 *", RunOnStartup = true)] TimerInfo timer, TimerProbe? probe = null) => probe?.Record("OnStartup", timer);
}
