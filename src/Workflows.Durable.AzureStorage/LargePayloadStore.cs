using System.IO.Compression;
using System.Text;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;

namespace Workflows.Durable.AzureStorage;

/// <summary>
/// Keeps payloads that exceed queue-message or table-property limits in blobs, gzip-compressed, under
/// <c>{instanceId}/</c> so purging an instance removes them. Callers store the returned blob name in place of the payload.
/// </summary>
public sealed class LargePayloadStore(BlobContainerClient container)
{
    /// <summary>
    /// Largest payload kept inline, in UTF-16 characters. A table string property holds 32K characters and a queue
    /// message 64 KB; 24K characters leaves room for the envelope in either.
    /// </summary>
    public const int InlineLimit = 24 * 1024;

    /// <summary>True when <paramref name="payload"/> must go to a blob.</summary>
    public static bool NeedsBlob(string? payload) => payload is not null && payload.Length > InlineLimit;

    /// <summary>Stores <paramref name="payload"/> compressed and returns its blob name.</summary>
    public async Task<string> StoreAsync(string instanceId, string payload, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(instanceId);
        ArgumentNullException.ThrowIfNull(payload);
        var name = $"{Uri.EscapeDataString(instanceId)}/{Guid.NewGuid():N}.json.gz";
        using var buffer = new MemoryStream();
        var gzip = new GZipStream(buffer, CompressionLevel.Fastest, leaveOpen: true);
        await using (gzip.ConfigureAwait(false))
        {
            var bytes = Encoding.UTF8.GetBytes(payload);
            await gzip.WriteAsync(bytes, cancellationToken).ConfigureAwait(false);
        }

        buffer.Position = 0;
        await container.GetBlobClient(name).UploadAsync(buffer, new BlobUploadOptions { HttpHeaders = new BlobHttpHeaders { ContentEncoding = "gzip", ContentType = "application/json" } }, cancellationToken).ConfigureAwait(false);
        return name;
    }

    /// <summary>Reads a payload stored by <see cref="StoreAsync"/>.</summary>
    public async Task<string> LoadAsync(string blobName, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(blobName);
        var download = await container.GetBlobClient(blobName).DownloadStreamingAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        var content = download.Value.Content;
        await using var contentScope = content.ConfigureAwait(false);
        var gzip = new GZipStream(content, CompressionMode.Decompress);
        await using var gzipScope = gzip.ConfigureAwait(false);
        using var reader = new StreamReader(gzip, Encoding.UTF8);
        return await reader.ReadToEndAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Deletes every payload of an instance; returns how many blobs were deleted.</summary>
    public async Task<int> DeleteInstanceAsync(string instanceId, CancellationToken cancellationToken = default)
    {
        var deleted = 0;
        await foreach (var blob in container.GetBlobsAsync(BlobTraits.None, BlobStates.None, Uri.EscapeDataString(instanceId) + "/", cancellationToken).ConfigureAwait(false))
        {
            await container.DeleteBlobIfExistsAsync(blob.Name, cancellationToken: cancellationToken).ConfigureAwait(false);
            deleted++;
        }

        return deleted;
    }
}
