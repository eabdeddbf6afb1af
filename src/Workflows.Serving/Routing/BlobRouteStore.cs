using System.Collections.Concurrent;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Microsoft.Extensions.Logging;
using Workflows.Serving.Diagnostics;

namespace Workflows.Serving.Routing;

/// <summary>
/// Route tables in the Blob registry's container, blob <c>{name}/routing.json</c>. A write is conditional on the ETag
/// this service last read or wrote (or on there being no blob): when another replica changed the table in between,
/// the conflict is logged and the newest admin change, this one, is written over it.
/// </summary>
internal sealed class BlobRouteStore(BlobContainerClient container, ILogger logger) : IRouteStore
{
    private readonly ConcurrentDictionary<string, ETag> _etags = new(StringComparer.Ordinal);

    public string Describe(string model) => $"blob {container.Name}/{BlobName(model)}";

    public async Task<RouteTable?> ReadAsync(string model, CancellationToken cancellationToken)
    {
        try
        {
            var response = await container.GetBlobClient(BlobName(model)).DownloadContentAsync(cancellationToken).ConfigureAwait(false);
            _etags[model] = response.Value.Details.ETag;
            return RouteDocument.Deserialize(response.Value.Content.ToMemory().Span, Describe(model));
        }
        catch (RequestFailedException exception) when (exception.Status == 404)
        {
            return null;
        }
    }

    public async Task WriteAsync(string model, RouteTable table, CancellationToken cancellationToken)
    {
        var blob = container.GetBlobClient(BlobName(model));
        var content = BinaryData.FromBytes(RouteDocument.Serialize(table));
        var conditions = _etags.TryGetValue(model, out var etag) ? new BlobRequestConditions { IfMatch = etag } : new BlobRequestConditions { IfNoneMatch = ETag.All };
        try
        {
            var written = await blob.UploadAsync(content, new BlobUploadOptions { Conditions = conditions }, cancellationToken).ConfigureAwait(false);
            _etags[model] = written.Value.ETag;
        }
        catch (RequestFailedException exception) when (exception.Status is 409 or 412)
        {
            ServingLog.RouteOverwritten(logger, model, Describe(model));
            var written = await blob.UploadAsync(content, overwrite: true, cancellationToken).ConfigureAwait(false);
            _etags[model] = written.Value.ETag;
        }
    }

    private static string BlobName(string model) => $"{model}/{RouteDocument.FileName}";
}
