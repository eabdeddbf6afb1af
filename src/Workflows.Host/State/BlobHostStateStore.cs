using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;

namespace Workflows.Host.State;

/// <summary>Host state as blobs in the <c>{hub}-host</c> container; leases are blob leases, so hosts sharing a hub agree.</summary>
internal sealed class BlobHostStateStore(BlobContainerClient container) : IHostStateStore
{
    public static async Task<BlobHostStateStore> CreateAsync(BlobServiceClient blobs, string hubName, CancellationToken cancellationToken)
    {
        var container = blobs.GetBlobContainerClient(hubName.ToLowerInvariant() + "-host");
        await container.CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        return new BlobHostStateStore(container);
    }

    public async Task<string?> ReadAsync(string name, CancellationToken cancellationToken)
    {
        try
        {
            var content = await container.GetBlobClient(name).DownloadContentAsync(cancellationToken).ConfigureAwait(false);
            return content.Value.Content.ToString();
        }
        catch (RequestFailedException exception) when (exception.Status == 404)
        {
            return null;
        }
    }

    public async Task<bool> TryCreateAsync(string name, string content, CancellationToken cancellationToken)
    {
        try
        {
            await container.GetBlobClient(name).UploadAsync(
                BinaryData.FromString(content),
                new BlobUploadOptions { Conditions = new BlobRequestConditions { IfNoneMatch = ETag.All } },
                cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (RequestFailedException exception) when (exception.Status == 409)
        {
            return false;
        }
    }

    public Task WriteAsync(string name, string content, CancellationToken cancellationToken) =>
        container.GetBlobClient(name).UploadAsync(BinaryData.FromString(content), overwrite: true, cancellationToken);

    public async Task<string?> TryAcquireLeaseAsync(string name, TimeSpan duration, CancellationToken cancellationToken)
    {
        var blob = container.GetBlobClient(name);
        // The lease blob must exist; creating it is idempotent and racing hosts all succeed or see 409.
        await TryCreateAsync(name, string.Empty, cancellationToken).ConfigureAwait(false);
        try
        {
            var lease = await blob.GetBlobLeaseClient().AcquireAsync(duration, cancellationToken: cancellationToken).ConfigureAwait(false);
            return lease.Value.LeaseId;
        }
        catch (RequestFailedException exception) when (exception.Status == 409)
        {
            return null;
        }
    }

    public async Task<bool> RenewLeaseAsync(string name, string leaseId, CancellationToken cancellationToken)
    {
        try
        {
            await container.GetBlobClient(name).GetBlobLeaseClient(leaseId).RenewAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (RequestFailedException exception) when (exception.Status is 409 or 412)
        {
            return false;
        }
    }

    public async Task ReleaseLeaseAsync(string name, string leaseId, CancellationToken cancellationToken)
    {
        try
        {
            await container.GetBlobClient(name).GetBlobLeaseClient(leaseId).ReleaseAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException exception) when (exception.Status is 409 or 412)
        {
            // Already lost: someone else holds it now, which is what releasing wants anyway.
        }
    }
}
