using Microsoft.DurableTask;
using Workflows.Functions.Samples;

namespace Workflows.Functions.Tests.Golden;

/// <summary>
/// Orchestrators whose recorded histories the golden tests replay, besides the app's samples: one per durable
/// feature (sub-orchestrations, a timer racing an event either way, deterministic GUIDs, a caught activity failure).
/// </summary>
internal static class GoldenOrchestrations
{
    public const string SubOrchestrations = "GoldenSubOrchestrations";
    public const string Child = "GoldenChild";
    public const string EventOrTimer = "GoldenEventOrTimer";
    public const string Guids = "GoldenGuids";
    public const string CaughtFailure = "GoldenCaughtFailure";
    public const string Explode = "GoldenExplode";

    /// <summary>HelloSequence as changed code would call it: another activity first.</summary>
    public const string ChangedHelloSequence = "GoldenChangedHelloSequence";

    public static DurableTaskRegistry AddGoldenOrchestrations(this DurableTaskRegistry registry) => registry
        .AddOrchestratorFunc<int, int>(SubOrchestrations, async (context, n) =>
        {
            var first = await context.CallSubOrchestratorAsync<int>(Child, n);
            var second = await context.CallSubOrchestratorAsync<int>(Child, n + 1);
            return first + second;
        })
        .AddOrchestratorFunc<int, int>(Child, async (context, n) => (int)await context.CallActivityAsync<long>(FanOutFanIn.SquareName, n))
        .AddOrchestratorFunc<int, string>(EventOrTimer, async (context, timeoutSeconds) =>
        {
            try
            {
                return await context.WaitForExternalEvent<string>("Approval", TimeSpan.FromSeconds(timeoutSeconds));
            }
            catch (TaskCanceledException)
            {
                return "timed out";
            }
        })
        .AddOrchestratorFunc<object?, List<Guid>>(Guids, (context, _) => Task.FromResult(new List<Guid> { context.NewGuid(), context.NewGuid(), context.NewGuid() }))
        .AddOrchestratorFunc<object?, string>(CaughtFailure, async (context, _) =>
        {
            try
            {
                return await context.CallActivityAsync<string>(Explode, "boom");
            }
            catch (TaskFailedException failure)
            {
                return $"caught {failure.FailureDetails.ErrorType}: {failure.FailureDetails.ErrorMessage}";
            }
        })
        .AddActivityFunc<string, string>(Explode, (_, message) => Task.FromException<string>(new InvalidOperationException(message)))
        .AddOrchestratorFunc<string?, List<string>>(ChangedHelloSequence, async (context, city) =>
        [
            await context.CallActivityAsync<string>(Explode, "goodbye"),
            await context.CallActivityAsync<string>(HelloSequence.SayHelloName, city),
        ]);
}
