using System.Diagnostics;
using DurableTask.Core.History;
using Microsoft.DurableTask.Client;
using Workflows.Durable.AzureStorage;
using Workflows.Durable.AzureStorage.Core;
using Workflows.Testing;
using Xunit;

namespace Workflows.Host.Tests.Rpc;

/// <summary>The worker process killed from outside (SIGKILL) in the middle of a fan-out on our task hub on Azurite.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class WorkerKillTests(AzuriteFixture azurite) : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("worker-kill-").FullName;

    [Fact]
    public async Task A_worker_killed_mid_fan_out_is_restarted_and_every_activity_is_answered_once()
    {
        await using var channel = await WorkerApp.StartAsync(WorkerApp.Options(), new ScopedLogs());
        int killed = channel.ProcessId ?? throw new InvalidOperationException("No worker process.");
        var service = new TaskHubOrchestrationService(
            new AzureStorageOptions { ConnectionString = azurite.ConnectionString, TaskHubName = "workerkill" + Guid.NewGuid().ToString("N")[..8], PartitionCount = 2 },
            new TaskHubOrchestrationServiceOptions { ExtendedSessions = true });
        await using var hub = await WorkerTaskHub.StartAsync(channel, service);
        const int count = 60;
        const int ungated = 20;

        string id = await hub.Client.ScheduleNewOrchestrationInstanceAsync("GatedFanOut", new { Folder = _folder, Count = count, Ungated = ungated });

        // The ungated part of the fan-out is answered, and a gated activity is running in the worker: kill it there.
        using (var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1)))
        {
            while ((await hub.Client.GetOrchestrationHistoryAsync(id, timeout.Token)).OfType<TaskCompletedEvent>().Count() < ungated
                || !File.Exists(Path.Combine(_folder, "waiting")))
            {
                await Task.Delay(TimeSpan.FromMilliseconds(50), timeout.Token);
            }
        }

        using (var process = Process.GetProcessById(killed))
        {
            process.Kill();
        }

        await File.WriteAllTextAsync(Path.Combine(_folder, "open"), "open");
        OrchestrationMetadata done = await hub.CompletionAsync(id);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        Assert.Equal(Enumerable.Range(0, count).Sum(), done.ReadOutputAs<int>());
        Assert.NotEqual(killed, channel.ProcessId);
        IList<HistoryEvent> history = await hub.Client.GetOrchestrationHistoryAsync(id);
        var scheduled = history.OfType<TaskScheduledEvent>().ToList();
        var completed = history.OfType<TaskCompletedEvent>().ToList();
        Assert.Equal(count, scheduled.Count);
        Assert.Equal(count, completed.Count);
        Assert.Equal(scheduled.Select(e => e.EventId).Order(), completed.Select(e => e.TaskScheduledId).Order());
        Assert.Empty(history.OfType<TaskFailedEvent>());
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);
}
