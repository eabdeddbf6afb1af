using System.Collections.Concurrent;
using Azure;
using Azure.Storage.Queues;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Workflows.Durable.AzureStorage;

/// <summary>
/// A queue message this worker holds invisible: one it received (a control message, an activity request, a recovery
/// marker) or a recovery marker it sent. Its pop receipt changes with every renewal, so it is only ever used through
/// <see cref="HeldMessages"/>, one storage call at a time.
/// </summary>
internal sealed class HeldMessage(QueueClient queue, string id, string receipt, DateTimeOffset renewAt)
{
    /// <summary>The queue the message is in.</summary>
    public QueueClient Queue { get; } = queue;

    /// <summary>The queue message id.</summary>
    public string Id { get; } = id;

    /// <summary>Serialises the calls that use the receipt (renew, update, delete, hand back).</summary>
    internal SemaphoreSlim Gate { get; } = new(1, 1);

    /// <summary>The receipt of the latest receive, send or update.</summary>
    internal string Receipt { get; set; } = receipt;

    /// <summary>When the next renewal is due.</summary>
    internal DateTimeOffset RenewAt { get; set; } = renewAt;

    /// <summary>Deleted, handed back, or lost (its visibility ended and someone received it again).</summary>
    public bool Gone { get; internal set; }
}

/// <summary>
/// The queue messages this worker holds, kept invisible by renewing each every third of the visibility timeout until
/// it is deleted or handed back. The timeout is short, so the messages of a worker that died show again within
/// seconds; a live worker pays one renewal per message per third of it, and only for messages it holds that long
/// (an episode or an in-process activity normally finishes well before).
/// </summary>
internal sealed class HeldMessages : IAsyncDisposable
{
    private readonly ConcurrentDictionary<HeldMessage, byte> _held = new();
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private Task? _loop;
    private int _lost;

    public HeldMessages(TimeSpan visibility, TimeProvider time, ILogger? logger = null)
    {
        Visibility = visibility;
        _time = time;
        _logger = logger ?? NullLogger.Instance;
    }

    /// <summary>How long a held message stays invisible without a renewal.</summary>
    public TimeSpan Visibility { get; }

    private TimeSpan RenewEvery => Visibility / 3;

    /// <summary>How many messages are held now.</summary>
    public int Count => _held.Count;

    /// <summary>Held messages whose renewal found them gone (tests: a renewal came too late).</summary>
    public int Lost => Volatile.Read(ref _lost);

    /// <summary>Starts the renewal loop.</summary>
    public void Start() => _loop ??= Task.Run(LoopAsync, CancellationToken.None);

    /// <summary>Holds a message received (or sent) with <see cref="Visibility"/> under <paramref name="receipt"/>.</summary>
    public HeldMessage Hold(QueueClient queue, string id, string receipt)
    {
        var message = new HeldMessage(queue, id, receipt, _time.GetUtcNow() + RenewEvery);
        _held.TryAdd(message, 0);
        return message;
    }

    /// <summary>Sends a message that this worker holds invisible from the start (a recovery marker).</summary>
    public async Task<HeldMessage> SendHeldAsync(QueueClient queue, string body, CancellationToken cancellationToken)
    {
        var sent = await queue.SendMessageAsync(body, Visibility, TimeSpan.FromSeconds(-1), cancellationToken).ConfigureAwait(false);
        return Hold(queue, sent.Value.MessageId, sent.Value.PopReceipt);
    }

    /// <summary>Deletes the message; false when it was no longer this worker's (deleted already, or lost).</summary>
    public Task<bool> DeleteAsync(HeldMessage message, CancellationToken cancellationToken) =>
        UseAsync(message, renewal: false, onlyIfDue: false, async receipt =>
        {
            await message.Queue.DeleteMessageAsync(message.Id, receipt, cancellationToken).ConfigureAwait(false);
            return null;
        });

    /// <summary>Makes the message visible again at once, for whoever receives next; false when it was no longer held.</summary>
    public Task<bool> HandBackAsync(HeldMessage message, CancellationToken cancellationToken) =>
        UseAsync(message, renewal: false, onlyIfDue: false, async receipt =>
        {
            await message.Queue.UpdateMessageAsync(message.Id, receipt, visibilityTimeout: TimeSpan.Zero, cancellationToken: cancellationToken).ConfigureAwait(false);
            return null;
        });

    /// <summary>
    /// Hands back each message, best effort: one that storage does not take back in time (no answer, or
    /// <paramref name="cancellationToken"/>'s budget ran out) is no longer renewed and shows again when its visibility
    /// ends.
    /// </summary>
    public async Task HandBackAllAsync(IEnumerable<HeldMessage> messages, CancellationToken cancellationToken)
    {
        foreach (var message in messages)
        {
            try
            {
                await HandBackAsync(message, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception exception) when (StorageErrors.IsTransient(exception) || (exception is OperationCanceledException && cancellationToken.IsCancellationRequested))
            {
                TaskHubLog.HandBackFailed(_logger, message.Queue.Name, message.Id, exception.GetType().Name);
                StopRenewing(message);
            }
        }
    }

    /// <summary>Replaces the message's body and keeps holding it; false when it was no longer held.</summary>
    public Task<bool> UpdateAsync(HeldMessage message, string body, CancellationToken cancellationToken) =>
        UseAsync(message, renewal: false, onlyIfDue: false, async receipt =>
            (await message.Queue.UpdateMessageAsync(message.Id, receipt, body, Visibility, cancellationToken).ConfigureAwait(false)).Value.PopReceipt);

    /// <summary>Renews the message now; false when it was no longer held.</summary>
    public Task<bool> RenewAsync(HeldMessage message, CancellationToken cancellationToken) => RenewAsync(message, onlyIfDue: false, cancellationToken);

    private Task<bool> RenewAsync(HeldMessage message, bool onlyIfDue, CancellationToken cancellationToken) =>
        UseAsync(message, renewal: true, onlyIfDue, async receipt =>
            (await message.Queue.UpdateMessageAsync(message.Id, receipt, visibilityTimeout: Visibility, cancellationToken: cancellationToken).ConfigureAwait(false)).Value.PopReceipt);

    /// <summary>
    /// One storage call with the current receipt. A new receipt keeps the message held; none ends the hold. A 404 or
    /// 400 answer means the message is not this worker's any more. Other failures leave it held (the next renewal
    /// or the visibility timeout settles it).
    /// </summary>
    private async Task<bool> UseAsync(HeldMessage message, bool renewal, bool onlyIfDue, Func<string, Task<string?>> call)
    {
        await message.Gate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (message.Gone)
            {
                return false;
            }

            if (onlyIfDue && message.RenewAt > _time.GetUtcNow())
            {
                return true; // Updated meanwhile.
            }

            string? receipt;
            try
            {
                receipt = await call(message.Receipt).ConfigureAwait(false);
            }
            catch (RequestFailedException exception) when (exception.Status is 404 or 400)
            {
                TaskHubLog.HeldMessageGone(_logger, message.Queue.Name, message.Id, exception.Status);
                if (renewal)
                {
                    Interlocked.Increment(ref _lost);
                }

                Drop(message);
                return false;
            }

            if (receipt is null)
            {
                Drop(message);
            }
            else
            {
                message.Receipt = receipt;
                message.RenewAt = _time.GetUtcNow() + RenewEvery;
            }

            return true;
        }
        finally
        {
            message.Gate.Release();
        }
    }

    /// <summary>Tests only: the messages held now.</summary>
    internal List<HeldMessage> Snapshot() => [.. _held.Keys];

    /// <summary>
    /// Stops renewing the message without a storage call: it shows again for whoever receives next when its
    /// visibility ends (what this worker knew about it is no longer valid).
    /// </summary>
    public void StopRenewing(HeldMessage message) => Drop(message);

    private void Drop(HeldMessage message)
    {
        message.Gone = true;
        _held.TryRemove(message, out _);
    }

    private async Task LoopAsync()
    {
        var tick = TimeSpan.FromTicks(Math.Max(RenewEvery.Ticks / 4, TimeSpan.FromMilliseconds(50).Ticks));
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(tick, _time, _stop.Token).ConfigureAwait(false);
                await RenewDueAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                // Stopping: whatever the interrupted renewals threw ends the loop, never the dispose.
                return;
            }
        }
    }

    /// <summary>Renews every held message whose renewal is due, a few at a time.</summary>
    internal async Task RenewDueAsync(CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        var due = _held.Keys.Where(m => m.RenewAt <= now).ToList();
        await Parallel.ForEachAsync(due, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancellationToken }, async (message, token) =>
        {
            try
            {
                await RenewAsync(message, onlyIfDue: true, token).ConfigureAwait(false);
            }
            catch (Exception exception) when (!token.IsCancellationRequested && (StorageErrors.IsTransient(exception) || exception is OperationCanceledException))
            {
                // Storage hiccup: the next tick retries while the message is still invisible.
                TaskHubLog.RenewalFailed(_logger, message.Queue.Name, message.Id, exception.GetType().Name);
            }
        }).ConfigureAwait(false);
    }

    /// <summary>Stops renewing; what is still held shows again when its visibility ends.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_loop is not null)
        {
            await _loop.ConfigureAwait(false);
        }

        _stop.Dispose();
    }
}
