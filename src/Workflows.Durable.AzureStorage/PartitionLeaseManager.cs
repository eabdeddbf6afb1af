using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using Microsoft.Extensions.Logging;

namespace Workflows.Durable.AzureStorage;

/// <summary>
/// Which control-queue partitions this worker owns, by blob leases (<c>{hub}-leases/control-NN</c>). Every
/// renewal period it renews its leases, writes a heartbeat (<c>workers/{id}</c>), counts the live workers and
/// moves towards an equal share: it releases leases beyond its share and acquires free ones below it. A lease
/// that another worker took is dropped at once, so the worker stops touching that partition. Leases are taken under
/// a lease id derived from <see cref="AzureStorageOptions.WorkerId"/> when it is set, so a restarted worker renews
/// the leases of its previous run instead of waiting for them to expire.
/// </summary>
internal sealed class PartitionLeaseManager : IAsyncDisposable
{
    private readonly TaskHubClients _clients;
    private readonly TimeProvider _time;
    private readonly TimeSpan _leaseDuration;
    private readonly TimeSpan _renewInterval;
    private readonly TimeSpan _shutdownCleanupTimeout;
    private readonly string _leaseId;
    private readonly Func<int, bool> _canRelease;
    private readonly Func<int, CancellationToken, Task> _onReleased;
    private readonly ILogger _logger;
    private readonly TimeSpan _messageVisibility;
    private readonly HashSet<int> _waitLogged = [];
    private readonly Lock _gate = new();
    private readonly HashSet<int> _owned = [];
    private readonly CancellationTokenSource _stop = new();
    private Task? _loop;
    private int _liveWorkers = 1;
    private int _round;
    private int _failedRounds;

    public PartitionLeaseManager(TaskHubClients clients, AzureStorageOptions options, TimeProvider time, Func<int, bool> canRelease, Func<int, CancellationToken, Task> onReleased, ILogger logger)
    {
        _clients = clients;
        _time = time;
        _leaseDuration = options.LeaseDuration;
        _renewInterval = options.LeaseRenewInterval;
        _shutdownCleanupTimeout = options.ShutdownCleanupTimeout;
        _leaseId = options.WorkerId is { } name ? LeaseIdOf(name) : Guid.NewGuid().ToString();
        _canRelease = canRelease;
        _onReleased = onReleased;
        _logger = logger;
        _messageVisibility = options.MessageVisibilityTimeout;
    }

    /// <summary>The lease id of a named worker: a name-based GUID (SHA-256 of the name), the same in every run.</summary>
    internal static string LeaseIdOf(string workerId)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes("workflows-worker:" + workerId), hash);
        hash[6] = (byte)((hash[6] & 0x0F) | 0x80); // version 8 (custom), RFC 9562
        hash[8] = (byte)((hash[8] & 0x3F) | 0x80); // RFC variant
        return new Guid(hash[..16], bigEndian: true).ToString();
    }

    /// <summary>This worker's id (also its lease id).</summary>
    public string WorkerId => _leaseId;

    /// <summary>Live workers on the hub (this one included) as of the latest membership listing.</summary>
    public int LiveWorkers => Volatile.Read(ref _liveWorkers);

    public IReadOnlyCollection<int> Owned
    {
        get
        {
            lock (_gate)
            {
                return _owned.ToArray();
            }
        }
    }

    public bool Owns(int partition)
    {
        lock (_gate)
        {
            return _owned.Contains(partition);
        }
    }

    /// <summary>Creates the lease blobs, takes a first share and starts the renewal loop.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        for (var partition = 0; partition < _clients.ControlQueues.Count; partition++)
        {
            try
            {
                await LeaseBlob(partition).UploadAsync(BinaryData.FromString(string.Empty), overwrite: false, cancellationToken).ConfigureAwait(false);
            }
            catch (RequestFailedException exception) when (exception.Status is 409 or 412)
            {
                // Exists already (and may be leased by another worker).
                TaskHubLog.LeaseBlobExists(_logger, partition, exception.Status);
            }
        }

        await BalanceAsync(cancellationToken).ConfigureAwait(false);
        TaskHubLog.OwnedPartitions(_logger, _leaseId, string.Join(", ", Owned.Order()), _clients.ControlQueues.Count);
        _loop = Task.Run(LoopAsync, CancellationToken.None);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_loop is not null)
        {
            await _loop.ConfigureAwait(false);
        }

        // Best effort within a time budget: storage may already be gone (Ctrl+C reaches the Azurite a host started at
        // the same moment as the host), and the SDK would retry each call for half a minute before failing. Leases not
        // given back expire after the lease duration; a heartbeat not deleted goes stale.
        using var budget = new CancellationTokenSource(_shutdownCleanupTimeout);
        foreach (var partition in Owned)
        {
            await ReleaseAsync(partition, budget.Token).ConfigureAwait(false);
        }

        try
        {
            await _clients.Leases.DeleteBlobIfExistsAsync(HeartbeatName, cancellationToken: budget.Token).ConfigureAwait(false);
        }
        catch (Exception exception) when (IsUnreachable(exception, budget.Token))
        {
            // Left behind: other workers stop counting this one once its heartbeat is old.
            TaskHubLog.HeartbeatNotDeleted(_logger, exception.GetType().Name);
        }

        _stop.Dispose();
    }

    private const string HeartbeatPrefix = "workers/";
    private const string OwnerKey = "owner";

    private string HeartbeatName => HeartbeatPrefix + _leaseId;

    private BlobClient LeaseBlob(int partition) => _clients.Leases.GetBlobClient($"control-{partition:D2}");

    private async Task LoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(_renewInterval, _time, _stop.Token).ConfigureAwait(false);
                await BalanceAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                // Stopping: whatever the interrupted call threw (a cancelled SDK call ends its retries with an
                // AggregateException, not an OperationCanceledException) ends the loop, never the dispose.
                return;
            }
            catch (Exception exception) when (StorageErrors.IsTransient(exception))
            {
                // Storage hiccup or outage: the next round retries; leases last several renewal periods. A lease that
                // expired meanwhile is renewed if nobody took it, else dropped then (and a commit made in between by
                // a worker that no longer owns the partition fails on the history's ETag).
                Interlocked.Increment(ref _failedRounds);
                TaskHubLog.LeaseRoundFailed(_logger, exception.Message);
            }
        }
    }

    /// <summary>Rounds that storage failed (tests: the loop rode out an outage).</summary>
    internal int FailedRounds => Volatile.Read(ref _failedRounds);

    /// <summary>
    /// One round: renew the owned leases, and every other round (or while owning nothing) look at who is alive and
    /// move towards an equal share. Idle cost per round is one renewal per owned partition plus half a listing; a
    /// heartbeat blob is written only by a worker that owns no partition, since an owner shows in its leases.
    /// </summary>
    private async Task BalanceAsync(CancellationToken cancellationToken)
    {
        foreach (var partition in Owned)
        {
            try
            {
                await LeaseBlob(partition).GetBlobLeaseClient(_leaseId).RenewAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            }
            catch (RequestFailedException exception) when (exception.Status is 409 or 412 or 404)
            {
                // Lost (expired and taken by another worker, or the hub was deleted): stop touching it at once. Any
                // other failure is storage not answering: the round fails and the next one renews.
                lock (_gate)
                {
                    _owned.Remove(partition);
                }

                TaskHubLog.LostLease(_logger, partition, exception.ErrorCode ?? exception.Message);
                await _onReleased(partition, cancellationToken).ConfigureAwait(false);
            }
        }

        if (_round++ % 2 != 0 && Owned.Count > 0)
        {
            return;
        }

        if (Owned.Count == 0)
        {
            await _clients.Leases.GetBlobClient(HeartbeatName).UploadAsync(BinaryData.FromString(_time.GetUtcNow().ToString("O")), overwrite: true, cancellationToken).ConfigureAwait(false);
        }

        var workers = await CountLiveWorkersAsync(cancellationToken).ConfigureAwait(false);
        Volatile.Write(ref _liveWorkers, workers);
        var partitions = _clients.ControlQueues.Count;
        var share = (partitions + workers - 1) / workers;
        var owned = Owned.OrderByDescending(p => p).ToList();
        for (var i = 0; owned.Count - i > share; i++)
        {
            if (_canRelease(owned[i]))
            {
                await ReleaseAsync(owned[i], cancellationToken).ConfigureAwait(false);
            }
        }

        for (var partition = 0; partition < partitions && Owned.Count < share; partition++)
        {
            if (Owns(partition))
            {
                continue;
            }

            try
            {
                var blob = LeaseBlob(partition);
                var takingBack = _round == 1 && await LeasedByPreviousRunAsync(blob, cancellationToken).ConfigureAwait(false);
                await blob.GetBlobLeaseClient(_leaseId).AcquireAsync(_leaseDuration, cancellationToken: cancellationToken).ConfigureAwait(false);
                if (takingBack)
                {
                    TaskHubLog.TookBackPartition(_logger, partition, _messageVisibility.TotalSeconds);
                }

                // The owner's id on the leased blob is how the other workers count this one as alive.
                await blob.SetMetadataAsync(new Dictionary<string, string> { [OwnerKey] = _leaseId }, new BlobRequestConditions { LeaseId = _leaseId }, cancellationToken).ConfigureAwait(false);
                lock (_gate)
                {
                    _owned.Add(partition);
                }

                _waitLogged.Remove(partition);
            }
            catch (RequestFailedException exception) when (exception.Status == 409)
            {
                // Leased by another worker: say so once, and whose it is.
                if (_waitLogged.Add(partition))
                {
                    TaskHubLog.WaitingForLease(_logger, partition, await OwnerOfAsync(partition, cancellationToken).ConfigureAwait(false), _leaseDuration.TotalSeconds);
                }
            }
        }
    }

    /// <summary>
    /// Whether the partition is leased under this worker's lease id already as it starts: its previous run (same
    /// <see cref="AzureStorageOptions.WorkerId"/>) died holding it.
    /// </summary>
    private async Task<bool> LeasedByPreviousRunAsync(BlobClient blob, CancellationToken cancellationToken)
    {
        var properties = (await blob.GetPropertiesAsync(cancellationToken: cancellationToken).ConfigureAwait(false)).Value;
        return properties.LeaseState == LeaseState.Leased && properties.Metadata.TryGetValue(OwnerKey, out var owner) && owner == _leaseId;
    }

    private async Task<string> OwnerOfAsync(int partition, CancellationToken cancellationToken)
    {
        var properties = (await LeaseBlob(partition).GetPropertiesAsync(cancellationToken: cancellationToken).ConfigureAwait(false)).Value;
        return properties.Metadata.TryGetValue(OwnerKey, out var owner) ? owner : "(unknown)";
    }

    /// <summary>Owners of leased partitions plus workers with a fresh heartbeat (those that own none yet).</summary>
    private async Task<int> CountLiveWorkersAsync(CancellationToken cancellationToken)
    {
        var live = new HashSet<string>(StringComparer.Ordinal) { _leaseId };
        var cutoff = _time.GetUtcNow() - (3 * _renewInterval) - TimeSpan.FromSeconds(5);
        await foreach (var blob in _clients.Leases.GetBlobsAsync(BlobTraits.Metadata, BlobStates.None, prefix: null, cancellationToken).ConfigureAwait(false))
        {
            if (blob.Name.StartsWith(HeartbeatPrefix, StringComparison.Ordinal))
            {
                if (blob.Properties.LastModified is { } modified && modified >= cutoff)
                {
                    live.Add(blob.Name[HeartbeatPrefix.Length..]);
                }
            }
            else if (blob.Properties.LeaseState == LeaseState.Leased && blob.Metadata.TryGetValue(OwnerKey, out var owner))
            {
                live.Add(owner);
            }
        }

        return live.Count;
    }

    private async Task ReleaseAsync(int partition, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            _owned.Remove(partition);
        }

        await _onReleased(partition, cancellationToken).ConfigureAwait(false);
        try
        {
            await LeaseBlob(partition).GetBlobLeaseClient(_leaseId).ReleaseAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (Exception exception) when (IsUnreachable(exception, cancellationToken))
        {
            // Already expired or taken, or storage did not answer: the lease expires on its own.
            TaskHubLog.LeaseNotReleased(_logger, partition, exception.GetType().Name);
        }
    }

    /// <summary>
    /// A storage call that failed (an error answer, retries exhausted without an answer) or ran out of
    /// <paramref name="cancellationToken"/>'s time: nothing to do but let the lease expire.
    /// </summary>
    private static bool IsUnreachable(Exception exception, CancellationToken cancellationToken) =>
        StorageErrors.IsTransient(exception) || (exception is OperationCanceledException && cancellationToken.IsCancellationRequested);
}
