using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Workflows.ML.Data;

namespace Workflows.ML.AzureStorage;

/// <summary>
/// Datasets in one Blob storage container (Azure or Azurite), so any worker can read any chunk. Paths are blob
/// names; a "folder" is a name prefix ending at '/'.
/// </summary>
public sealed class BlobDatasetStorage : IDatasetStorage
{
    private readonly BlobContainerClient _container;

    /// <summary>Uses <paramref name="container"/>; it is created on the first write if missing.</summary>
    public BlobDatasetStorage(BlobContainerClient container)
    {
        ArgumentNullException.ThrowIfNull(container);
        _container = container;
    }

    /// <inheritdoc/>
    public async Task<IReadOnlyList<string>> ListFilesAsync(string root, string extension, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(root);
        var name = root.TrimEnd('/');
        var files = new List<string>();
        try
        {
            if (await _container.GetBlobClient(name).ExistsAsync(cancellationToken).ConfigureAwait(false))
            {
                return [name];
            }

            var found = false;
            await foreach (var (blob, direct) in UnderAsync(name, cancellationToken).ConfigureAwait(false))
            {
                found = true;
                if (direct && blob.EndsWith(extension, StringComparison.Ordinal))
                {
                    files.Add(blob);
                }
            }

            if (!found)
            {
                throw new DatasetException($"dataset '{root}' does not exist in container '{_container.Name}'.");
            }
        }
        catch (RequestFailedException exception) when (exception.Status == 404)
        {
            throw new DatasetException($"dataset '{root}' does not exist: container '{_container.Name}' is missing.", exception);
        }

        files.Sort(StringComparer.Ordinal);
        return files;
    }

    /// <inheritdoc/>
    public async Task<IReadOnlyList<string>> ListFolderAsync(string folder, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        var name = folder.TrimEnd('/');
        var files = new List<string>();
        try
        {
            await foreach (var (blob, direct) in UnderAsync(name, cancellationToken).ConfigureAwait(false))
            {
                if (direct)
                {
                    files.Add(blob);
                }
            }
        }
        catch (RequestFailedException exception) when (exception.Status == 404)
        {
            return [];
        }

        files.Sort(StringComparer.Ordinal);
        return files;
    }

    /// <inheritdoc/>
    public async Task DeleteAsync(string path, CancellationToken cancellationToken)
    {
        try
        {
            await _container.GetBlobClient(path).DeleteIfExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException exception) when (exception.Status == 404)
        {
            // No container: nothing to delete.
        }
    }

    /// <inheritdoc/>
    public async Task<Stream> OpenReadAsync(string path, CancellationToken cancellationToken)
    {
        try
        {
            // A seekable stream that fetches ranges on demand: Parquet reads the footer, then only the row group it needs.
            return await _container.GetBlobClient(path).OpenReadAsync(new BlobOpenReadOptions(allowModifications: false), cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException exception) when (exception.Status == 404)
        {
            throw new DatasetException($"blob '{path}' does not exist in container '{_container.Name}'.", exception);
        }
    }

    /// <inheritdoc/>
    /// <remarks>The blob's URI and ETag: every write of a blob gives it a new ETag.</remarks>
    public async Task<string?> GetContentVersionAsync(string path, CancellationToken cancellationToken)
    {
        var blob = _container.GetBlobClient(path);
        try
        {
            var properties = await blob.GetPropertiesAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            return "blob:" + blob.Uri.AbsoluteUri + "|" + properties.Value.ETag.ToString();
        }
        catch (RequestFailedException exception) when (exception.Status == 404)
        {
            throw new DatasetException($"blob '{path}' does not exist in container '{_container.Name}'.", exception);
        }
    }

    /// <inheritdoc/>
    public async Task WriteAsync(string path, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
    {
        await _container.CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);

        // One upload call: the blob appears whole or not at all, so a crashed writer never leaves half a chunk.
        await _container.GetBlobClient(path).UploadAsync(BinaryData.FromBytes(content), overwrite: true, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Every blob under the "folder" <paramref name="name"/>, and whether it lies directly in it (not in a folder below).</summary>
    private async IAsyncEnumerable<(string Name, bool Direct)> UnderAsync(string name, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var blob in _container.GetBlobsAsync(BlobTraits.None, BlobStates.None, name + "/", cancellationToken).ConfigureAwait(false))
        {
            yield return (blob.Name, blob.Name.AsSpan(name.Length + 1).IndexOf('/') < 0);
        }
    }

    /// <inheritdoc/>
    public string Combine(string folder, string name) => folder.TrimEnd('/') + "/" + name;

    /// <inheritdoc/>
    /// <remarks>Blob names of this container: no URI (another account or container), no leading '/', no '..' segment.</remarks>
    public void ValidatePath(string path, string field)
    {
        ArgumentException.ThrowIfNullOrEmpty(field);
        if (string.IsNullOrWhiteSpace(path))
        {
            throw new DataPathException(field, path ?? string.Empty, "a blob name in the dataset container is required");
        }

        if (path.Contains("://", StringComparison.Ordinal) || path.StartsWith('/') || path.StartsWith('\\'))
        {
            throw new DataPathException(field, path, "paths are blob names relative to the dataset container, not URIs or absolute paths");
        }

        DataRoot.ThrowIfParentSegment(path, field);
    }
}
