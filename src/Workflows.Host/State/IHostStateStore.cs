namespace Workflows.Host.State;

/// <summary>
/// Small documents and leases the host keeps next to its task hub (keys, timer schedules, timer singleton
/// leases): blobs on Azure Storage, memory on the in-memory backend.
/// </summary>
internal interface IHostStateStore
{
    /// <summary>The document, or null when it does not exist.</summary>
    Task<string?> ReadAsync(string name, CancellationToken cancellationToken);

    /// <summary>Creates the document unless it exists; false when another writer was first.</summary>
    Task<bool> TryCreateAsync(string name, string content, CancellationToken cancellationToken);

    /// <summary>Creates or replaces the document.</summary>
    Task WriteAsync(string name, string content, CancellationToken cancellationToken);

    /// <summary>Takes the named lease for <paramref name="duration"/> (15–60 s); null when someone else holds it.</summary>
    Task<string?> TryAcquireLeaseAsync(string name, TimeSpan duration, CancellationToken cancellationToken);

    /// <summary>Renews a lease this host holds; false when it was lost.</summary>
    Task<bool> RenewLeaseAsync(string name, string leaseId, CancellationToken cancellationToken);

    /// <summary>Releases a lease this host holds (best effort).</summary>
    Task ReleaseLeaseAsync(string name, string leaseId, CancellationToken cancellationToken);
}
