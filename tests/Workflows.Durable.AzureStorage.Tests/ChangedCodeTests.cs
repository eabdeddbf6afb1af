using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Workflows.Testing;
using Xunit;
using SdkRegistry = Microsoft.DurableTask.DurableTaskRegistry;
using SdkRuntimeStatus = Microsoft.DurableTask.Client.OrchestrationRuntimeStatus;

namespace Workflows.Durable.AzureStorage.Tests;

/// <summary>
/// An orchestrator whose code changed under a running instance: the next worker replays the instance's history against
/// the new code, and DTFx's executor finds the recorded call missing. The instance fails with a reason naming that
/// call; the worker goes on with other instances.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class ChangedCodeTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task OrchestratorChangedUnderARunningInstance_FailsItAsNonDeterministic_NamingTheRecordedCall()
    {
        var hub = azurite.NewHub(partitionCount: 1);
        string id;
        await using (var before = await InProcessWorker.StartAsync(hub, r => Register(r, firstCall: "Reserve")))
        {
            // Run until the first call's result is committed and the instance waits for its event.
            id = await before.Client.ScheduleNewOrchestrationInstanceAsync("Checkout");
            using var deadline = new CancellationTokenSource(InProcessWorker.SafetyTimeout);
            while ((await before.Client.GetInstanceAsync(id, getInputsAndOutputs: true, deadline.Token))?.SerializedCustomStatus is null)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(50), deadline.Token);
            }
        }

        await using var after = await InProcessWorker.StartAsync(hub, r => Register(r, firstCall: "Charge"));
        try
        {
            await after.Client.RaiseEventAsync(id, "go", true);
            var failed = await after.Client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, InProcessWorker.Timeout());

            Assert.Equal(SdkRuntimeStatus.Failed, failed.RuntimeStatus);
            Assert.NotNull(failed.FailureDetails);
            Assert.Contains("NonDeterministic", failed.FailureDetails.ErrorType, StringComparison.Ordinal);
            Assert.Contains("'Reserve'", failed.FailureDetails.ErrorMessage, StringComparison.Ordinal);

            var other = await after.RunAsync("Ping");
            Assert.Equal(SdkRuntimeStatus.Completed, other.RuntimeStatus);
        }
        finally
        {
            await after.Provider.Clients.DeleteAsync();
        }
    }

    /// <summary>The app before and after the change: Checkout's first call is <paramref name="firstCall"/>.</summary>
    private static void Register(SdkRegistry registry, string firstCall) => registry
        .AddActivityFunc<string, string>("Reserve", (_, item) => $"reserved {item}")
        .AddActivityFunc<string, string>("Charge", (_, item) => $"charged {item}")
        .AddActivityFunc<string?, string>("Pong", (_, _) => "pong")
        .AddOrchestratorFunc<string?, string>("Checkout", async (context, _) =>
        {
            var done = await context.CallActivityAsync<string>(firstCall, "book");
            context.SetCustomStatus("waiting");
            await context.WaitForExternalEvent<bool>("go");
            return done;
        })
        .AddOrchestratorFunc<string?, string>("Ping", (context, _) => context.CallActivityAsync<string>("Pong"));
}
