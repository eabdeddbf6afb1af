namespace Workflows.Host.State;

/// <summary>Host state in process memory, for the in-memory backend: one host, nothing survives a restart.</summary>
internal sealed class InMemoryHostStateStore(TimeProvider time) : IHostStateStore
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, string> _documents = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (string Id, DateTimeOffset Until, TimeSpan Duration)> _leases = new(StringComparer.Ordinal);

    public Task<string?> ReadAsync(string name, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult(_documents.TryGetValue(name, out var content) ? content : null);
        }
    }

    public Task<bool> TryCreateAsync(string name, string content, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult(_documents.TryAdd(name, content));
        }
    }

    public Task WriteAsync(string name, string content, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            _documents[name] = content;
        }

        return Task.CompletedTask;
    }

    public Task<string?> TryAcquireLeaseAsync(string name, TimeSpan duration, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            var now = time.GetUtcNow();
            if (_leases.TryGetValue(name, out var lease) && lease.Until > now)
            {
                return Task.FromResult<string?>(null);
            }

            var id = Guid.NewGuid().ToString("N");
            _leases[name] = (id, now + duration, duration);
            return Task.FromResult<string?>(id);
        }
    }

    public Task<bool> RenewLeaseAsync(string name, string leaseId, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (!_leases.TryGetValue(name, out var lease) || lease.Id != leaseId)
            {
                return Task.FromResult(false);
            }

            _leases[name] = (leaseId, time.GetUtcNow() + lease.Duration, lease.Duration);
            return Task.FromResult(true);
        }
    }

    public Task ReleaseLeaseAsync(string name, string leaseId, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (_leases.TryGetValue(name, out var lease) && lease.Id == leaseId)
            {
                _leases.Remove(name);
            }
        }

        return Task.CompletedTask;
    }
}
