using Microsoft.DurableTask.Client;
using SdkRuntimeStatus = Microsoft.DurableTask.Client.OrchestrationRuntimeStatus;
using Workflows.Testing;
using Xunit;

namespace Workflows.Durable.AzureStorage.Tests;

[Collection(AzuriteCollection.Name)]
public sealed class LargePayloadOrchestrationTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task OneMegabyteInputAndOutput_RoundTripThroughBlobs_AndPurgeRemovesThem()
    {
        var hub = azurite.NewHub(partitionCount: 2);
        await using (var worker = await InProcessWorker.StartAsync(hub, registry => registry
            .AddActivityFunc<string, string>("Reverse", (_, text) => new string(text.Reverse().ToArray()))
            .AddOrchestratorFunc<string, string>("Big", (context, text) => context.CallActivityAsync<string>("Reverse", text))))
        {
            var input = string.Concat(Enumerable.Range(0, 1024 * 1024 / 8).Select(i => (i % 100_000).ToString("D8", System.Globalization.CultureInfo.InvariantCulture)));

            var result = await worker.RunAsync("Big", input);

            Assert.Equal(SdkRuntimeStatus.Completed, result.RuntimeStatus);
            Assert.Equal(new string(input.Reverse().ToArray()), result.ReadOutputAs<string>());
            Assert.Equal(input, result.ReadInputAs<string>());
            Assert.True(await CountBlobsAsync(worker.Provider, result.InstanceId) > 0);

            var purged = await worker.Client.PurgeInstanceAsync(result.InstanceId);
            Assert.Equal(1, purged.PurgedInstanceCount);
            Assert.Equal(0, await CountBlobsAsync(worker.Provider, result.InstanceId));
            await worker.Provider.Clients.DeleteAsync();
        }
    }

    private static async Task<int> CountBlobsAsync(AzureStorageProvider provider, string instanceId)
    {
        var count = 0;
        await foreach (var _ in provider.Clients.LargeMessages.GetBlobsAsync(Azure.Storage.Blobs.Models.BlobTraits.None, Azure.Storage.Blobs.Models.BlobStates.None, Uri.EscapeDataString(instanceId) + "/", CancellationToken.None))
        {
            count++;
        }

        return count;
    }
}
