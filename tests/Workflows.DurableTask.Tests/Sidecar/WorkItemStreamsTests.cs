using System.Threading.Channels;
using Grpc.Core;
using Workflows.DurableTask.Remote;
using Workflows.DurableTask.Sidecar;
using Xunit;
using P = Microsoft.DurableTask.Protobuf;

namespace Workflows.DurableTask.Tests.Sidecar;

public sealed class WorkItemStreamsTests
{
    [Fact]
    public async Task Without_a_connected_worker_the_work_is_unavailable_and_goes_back()
    {
        var streams = new WorkItemStreams();

        await Assert.ThrowsAsync<RemoteWorkerUnavailableException>(() => streams.RunActivityAsync(new RemoteActivityRequest("A", "i", 0, "1"), CancellationToken.None));
    }

    [Fact]
    public async Task An_activity_goes_to_the_worker_and_its_completion_comes_back_by_token()
    {
        var streams = new WorkItemStreams();
        var worker = new Worker();
        using var connected = new CancellationTokenSource();
        Task serving = streams.ServeAsync(worker, connected.Token);

        Task<RemoteActivityResult> run = streams.RunActivityAsync(new RemoteActivityRequest("Square", "instance-1", 7, "3"), CancellationToken.None);
        P.WorkItem item = await worker.Items.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal("Square", item.ActivityRequest.Name);
        Assert.Equal("3", item.ActivityRequest.Input);
        Assert.Equal(7, item.ActivityRequest.TaskId);
        Assert.Equal("instance-1", item.ActivityRequest.OrchestrationInstance.InstanceId);

        streams.CompleteActivity(new P.ActivityResponse { InstanceId = "instance-1", TaskId = 7, Result = "9", CompletionToken = item.CompletionToken });

        RemoteActivityResult result = await run;
        Assert.Equal("9", result.Output);
        Assert.Null(result.Failure);
        Assert.Throws<RpcException>(() => streams.CompleteActivity(new P.ActivityResponse { CompletionToken = item.CompletionToken }));
        await connected.CancelAsync();
        await serving;
    }

    [Fact]
    public async Task Work_a_worker_held_when_its_stream_ended_is_unavailable_and_runs_again()
    {
        var streams = new WorkItemStreams();
        var worker = new Worker();
        using var connected = new CancellationTokenSource();
        Task serving = streams.ServeAsync(worker, connected.Token);
        Task<P.OrchestratorResponse> episode = streams.RunOrchestratorAsync("O", new P.OrchestratorRequest { InstanceId = "i" }, CancellationToken.None);
        _ = await worker.Items.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));

        await connected.CancelAsync();
        await serving;

        await Assert.ThrowsAsync<RemoteWorkerUnavailableException>(() => episode);
        Assert.Equal(0, streams.ConnectedWorkers);
    }

    [Fact]
    public async Task An_abandoned_work_item_is_unavailable_and_runs_again()
    {
        var streams = new WorkItemStreams();
        var worker = new Worker();
        using var connected = new CancellationTokenSource();
        Task serving = streams.ServeAsync(worker, connected.Token);
        Task<RemoteActivityResult> run = streams.RunActivityAsync(new RemoteActivityRequest("A", "i", 1, null), CancellationToken.None);
        P.WorkItem item = await worker.Items.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));

        streams.Abandon(item.CompletionToken);

        await Assert.ThrowsAsync<RemoteWorkerUnavailableException>(() => run);
        await connected.CancelAsync();
        await serving;
    }

    private sealed class Worker : IServerStreamWriter<P.WorkItem>
    {
        public Channel<P.WorkItem> Items { get; } = Channel.CreateUnbounded<P.WorkItem>();

        public WriteOptions? WriteOptions { get; set; }

        public Task WriteAsync(P.WorkItem message) => Items.Writer.WriteAsync(message).AsTask();

        public Task WriteAsync(P.WorkItem message, CancellationToken cancellationToken) => Items.Writer.WriteAsync(message, cancellationToken).AsTask();
    }
}
