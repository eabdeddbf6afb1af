using Microsoft.Extensions.Time.Testing;
using Workflows.Testing;
using Xunit;

namespace Workflows.Durable.AzureStorage.Tests;

/// <summary>
/// Held messages: the pop receipt of every renewal is the one the next call uses, a message whose receipt someone else
/// changed is lost (not renewed, not deleted), and only messages whose renewal is due are renewed.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class HeldMessagesTests(AzuriteFixture azurite)
{
    private static readonly TimeSpan Visibility = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task RenewedMessage_IsDeletedWithItsNewReceipt()
    {
        var (clients, held) = await StartAsync(new FakeTimeProvider());
        var message = await ReceiveHeldAsync(clients, held);
        var first = message.Receipt;

        Assert.True(await held.RenewAsync(message, CancellationToken.None));
        Assert.NotEqual(first, message.Receipt);
        Assert.True(await held.DeleteAsync(message, CancellationToken.None));

        Assert.True(message.Gone);
        Assert.Equal(0, held.Count);
        Assert.Equal(0, (await clients.WorkItems.GetPropertiesAsync()).Value.ApproximateMessagesCount);
        await clients.DeleteAsync();
    }

    [Fact]
    public async Task MessageReceivedByAnother_IsLost_NotRenewedOrDeleted()
    {
        var (clients, held) = await StartAsync(new FakeTimeProvider());
        var message = await ReceiveHeldAsync(clients, held);

        // Another worker got it (its visibility ended, say): the receipt this worker holds no longer works.
        await clients.WorkItems.UpdateMessageAsync(message.Id, message.Receipt, visibilityTimeout: TimeSpan.Zero);
        var stolen = (await clients.WorkItems.ReceiveMessagesAsync(1, Visibility)).Value.Single();

        Assert.False(await held.RenewAsync(message, CancellationToken.None));
        Assert.True(message.Gone);
        Assert.Equal(1, held.Lost);
        Assert.False(await held.DeleteAsync(message, CancellationToken.None));
        await clients.WorkItems.DeleteMessageAsync(stolen.MessageId, stolen.PopReceipt);
        await clients.DeleteAsync();
    }

    [Fact]
    public async Task RenewDue_RenewsOnlyMessagesHeldForAThirdOfTheVisibility()
    {
        var clock = new FakeTimeProvider();
        var (clients, held) = await StartAsync(clock);
        var older = await ReceiveHeldAsync(clients, held);
        clock.Advance(Visibility / 6);
        var newer = await ReceiveHeldAsync(clients, held);
        var (olderReceipt, newerReceipt) = (older.Receipt, newer.Receipt);

        clock.Advance(Visibility / 6);
        await held.RenewDueAsync(CancellationToken.None);

        Assert.NotEqual(olderReceipt, older.Receipt);
        Assert.Equal(newerReceipt, newer.Receipt);
        Assert.True(await held.DeleteAsync(older, CancellationToken.None));
        Assert.True(await held.DeleteAsync(newer, CancellationToken.None));
        await clients.DeleteAsync();
    }

    private async Task<(TaskHubClients Clients, HeldMessages Held)> StartAsync(TimeProvider clock)
    {
        var clients = new TaskHubClients(azurite.NewHub(partitionCount: 1));
        await clients.CreateIfNotExistsAsync();
        return (clients, new HeldMessages(Visibility, clock));
    }

    private static async Task<HeldMessage> ReceiveHeldAsync(TaskHubClients clients, HeldMessages held)
    {
        await clients.WorkItems.SendMessageAsync("work");
        var received = (await clients.WorkItems.ReceiveMessagesAsync(1, held.Visibility)).Value.Single();
        return held.Hold(clients.WorkItems, received.MessageId, received.PopReceipt);
    }
}
