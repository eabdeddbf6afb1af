using Grpc.Core;
using Microsoft.Azure.WebJobs.Script.Grpc.Messages;

namespace Workflows.Host.Rpc;

/// <summary>The host's side of <c>FunctionRpc.EventStream</c>: each stream a worker opens is handed to its channel.</summary>
internal sealed class FunctionRpcService(WorkerChannel channel) : FunctionRpc.FunctionRpcBase
{
    public override Task EventStream(IAsyncStreamReader<StreamingMessage> requestStream, IServerStreamWriter<StreamingMessage> responseStream, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return channel.RunStreamAsync(requestStream, responseStream, context.CancellationToken);
    }
}
