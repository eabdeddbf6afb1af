using System.Text.Json;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Workflows.ML.Registry;

namespace Workflows.ML.AzureStorage;

/// <summary>
/// A registry in a Blob container (Azure Storage or Azurite): <c>{name}/{version:000000}/model.{format}</c> and
/// <c>{name}/{version:000000}/manifest.json</c>. The artifact upload claims the version (it is conditional on the
/// blob not existing, so two registrations never share a number) and the manifest, written last, publishes it:
/// readers only see versions whose manifest exists.
/// </summary>
public sealed class BlobModelRegistry : IModelRegistry
{
    private static readonly BlobRequestConditions MustNotExist = new() { IfNoneMatch = ETag.All };
    private readonly BlobContainerClient _container;
    private readonly TimeProvider _timeProvider;
    private Task? _containerReady;

    /// <summary>Creates the registry on <paramref name="container"/>, which is created on the first registration.</summary>
    public BlobModelRegistry(BlobContainerClient container, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(container);
        _container = container;
        _timeProvider = timeProvider ?? TimeProvider.System;
    }

    /// <inheritdoc />
    public async Task<RegisteredModel> RegisterAsync(ModelRegistration registration, ReadOnlyMemory<byte> artifact, CancellationToken cancellationToken = default)
    {
        RegistryNaming.Validate(registration);
        await EnsureContainerAsync(cancellationToken).ConfigureAwait(false);

        var versions = await ListVersionsAsync(registration.Name, cancellationToken).ConfigureAwait(false);
        var existing = RegistryNaming.FindByIdempotencyKey(versions, registration.IdempotencyKey);
        if (existing is not null)
        {
            return existing;
        }

        var version = versions.Count == 0 ? 1 : versions[^1].Version + 1;
        var content = BinaryData.FromBytes(artifact);
        while (!await TryUploadAsync(ArtifactBlob(registration.Name, version, registration.Format), content, cancellationToken).ConfigureAwait(false))
        {
            // Another registration (or one that crashed before publishing) holds this number.
            version++;
        }

        foreach (var file in registration.Files ?? new Dictionary<string, byte[]>())
        {
            // The version is claimed by the artifact; its files are written (over a crashed attempt's) before the manifest publishes it.
            await _container.GetBlobClient(FileBlob(registration.Name, version, file.Key))
                .UploadAsync(BinaryData.FromBytes(file.Value), overwrite: true, cancellationToken).ConfigureAwait(false);
        }

        var manifest = RegistryNaming.Manifest(registration, version, _timeProvider.GetUtcNow(), artifact.Span);
        var manifestBytes = BinaryData.FromBytes(JsonSerializer.SerializeToUtf8Bytes(manifest, RegistryNaming.ManifestJson));
        await _container.GetBlobClient(ManifestBlob(registration.Name, version))
            .UploadAsync(manifestBytes, new BlobUploadOptions { Conditions = MustNotExist }, cancellationToken).ConfigureAwait(false);
        return manifest;
    }

    /// <inheritdoc />
    public async Task<RegisteredModel?> GetAsync(string name, int version, CancellationToken cancellationToken = default)
    {
        RegistryNaming.ValidateName(name);
        if (version < 1)
        {
            return null;
        }

        var bytes = await DownloadOrNullAsync(ManifestBlob(name, version), cancellationToken).ConfigureAwait(false);
        return bytes is null
            ? null
            : bytes.ToObjectFromJson<RegisteredModel>(RegistryNaming.ManifestJson)
              ?? throw new InvalidDataException($"The manifest of model '{name}' version {version} is empty.");
    }

    /// <inheritdoc />
    public async Task<RegisteredModel?> GetLatestAsync(string name, CancellationToken cancellationToken = default)
    {
        var versions = await VersionNumbersAsync(name, cancellationToken).ConfigureAwait(false);
        return versions.Count == 0 ? null : await GetAsync(name, versions[^1], cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<RegisteredModel>> ListVersionsAsync(string name, CancellationToken cancellationToken = default)
    {
        var result = new List<RegisteredModel>();
        foreach (var version in await VersionNumbersAsync(name, cancellationToken).ConfigureAwait(false))
        {
            var model = await GetAsync(name, version, cancellationToken).ConfigureAwait(false);
            if (model is not null)
            {
                result.Add(model);
            }
        }

        return result;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<string>> ListNamesAsync(CancellationToken cancellationToken = default)
    {
        var names = new List<string>();
        if (!await _container.ExistsAsync(cancellationToken).ConfigureAwait(false))
        {
            return names;
        }

        await foreach (var item in _container.GetBlobsByHierarchyAsync(BlobTraits.None, BlobStates.None, "/", prefix: null, cancellationToken).ConfigureAwait(false))
        {
            if (item.IsPrefix)
            {
                var name = item.Prefix.TrimEnd('/');
                if ((await VersionNumbersAsync(name, cancellationToken).ConfigureAwait(false)).Count > 0)
                {
                    names.Add(name);
                }
            }
        }

        names.Sort(StringComparer.Ordinal);
        return names;
    }

    /// <inheritdoc />
    public async Task<byte[]> ReadArtifactAsync(string name, int version, CancellationToken cancellationToken = default)
    {
        var model = await GetAsync(name, version, cancellationToken).ConfigureAwait(false)
            ?? throw new KeyNotFoundException($"Model '{name}' has no version {version}.");
        var bytes = await DownloadOrNullAsync(ArtifactBlob(name, version, model.Format), cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidDataException($"The artifact of model '{name}' version {version} is missing.");
        return RegistryNaming.CheckedArtifact(model, bytes.ToArray());
    }

    /// <inheritdoc />
    public async Task<byte[]?> ReadFileAsync(string name, int version, string fileName, CancellationToken cancellationToken = default)
    {
        var model = await GetAsync(name, version, cancellationToken).ConfigureAwait(false)
            ?? throw new KeyNotFoundException($"Model '{name}' has no version {version}.");
        RegistryNaming.ValidateFileName(fileName, model.Format);
        if (model.Files?.ContainsKey(fileName) != true)
        {
            return null;
        }

        var bytes = await DownloadOrNullAsync(FileBlob(name, version, fileName), cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidDataException($"The file '{fileName}' of model '{name}' version {version} is missing.");
        return RegistryNaming.CheckedFile(model, fileName, bytes.ToArray());
    }

    /// <summary>
    /// The container, created once: every caller waits for the same creation (concurrent first registrations must not
    /// upload before it exists), and a creation that failed is tried again by the next caller.
    /// </summary>
    private Task EnsureContainerAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var current = Volatile.Read(ref _containerReady);
            if (current is { IsFaulted: false, IsCanceled: false })
            {
                return current.WaitAsync(cancellationToken);
            }

            var created = CreateContainerAsync();
            if (Interlocked.CompareExchange(ref _containerReady, created, current) == current)
            {
                return created.WaitAsync(cancellationToken);
            }
        }
    }

    private async Task CreateContainerAsync() =>
        await _container.CreateIfNotExistsAsync().ConfigureAwait(false);

    private static string ManifestBlob(string name, int version) => $"{name}/{RegistryNaming.VersionKey(version)}/{RegistryNaming.ManifestFileName}";

    private static string FileBlob(string name, int version, string fileName) => $"{name}/{RegistryNaming.VersionKey(version)}/{fileName}";

    private static string ArtifactBlob(string name, int version, string format) =>
        $"{name}/{RegistryNaming.VersionKey(version)}/{RegistryNaming.ArtifactFileName(format)}";

    private async Task<bool> TryUploadAsync(string blobName, BinaryData content, CancellationToken cancellationToken)
    {
        try
        {
            await _container.GetBlobClient(blobName).UploadAsync(content, new BlobUploadOptions { Conditions = MustNotExist }, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (RequestFailedException exception) when (exception.Status is 409 or 412)
        {
            return false;
        }
    }

    private async Task<BinaryData?> DownloadOrNullAsync(string blobName, CancellationToken cancellationToken)
    {
        try
        {
            var response = await _container.GetBlobClient(blobName).DownloadContentAsync(cancellationToken).ConfigureAwait(false);
            return response.Value.Content;
        }
        catch (RequestFailedException exception) when (exception.Status == 404)
        {
            return null;
        }
    }

    /// <summary>Published versions (those with a manifest), ascending.</summary>
    private async Task<List<int>> VersionNumbersAsync(string name, CancellationToken cancellationToken)
    {
        RegistryNaming.ValidateName(name);
        var versions = new List<int>();
        try
        {
            await foreach (var blob in _container.GetBlobsAsync(new GetBlobsOptions { Prefix = name + "/" }, cancellationToken).ConfigureAwait(false))
            {
                var parts = blob.Name.Split('/');
                if (parts.Length == 3 && parts[2] == RegistryNaming.ManifestFileName && RegistryNaming.TryParseVersionKey(parts[1], out var version))
                {
                    versions.Add(version);
                }
            }
        }
        catch (RequestFailedException exception) when (exception.Status == 404)
        {
            // No container yet: nothing registered.
        }

        versions.Sort();
        return versions;
    }
}
