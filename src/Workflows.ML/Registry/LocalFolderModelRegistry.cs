using System.Text.Json;

namespace Workflows.ML.Registry;

/// <summary>
/// A registry in a local folder: <c>{root}/{name}/{version:000000}/manifest.json</c> next to
/// <c>model.{format}</c>. A version is written into a temporary folder and renamed into place, so readers never see
/// a half-written version, and a rename that loses a race to another registration moves on to the next number.
/// </summary>
public sealed class LocalFolderModelRegistry : IModelRegistry
{
    private readonly string _root;
    private readonly TimeProvider _timeProvider;

    /// <summary>Creates the registry in <paramref name="root"/> (created when missing).</summary>
    public LocalFolderModelRegistry(string root, TimeProvider? timeProvider = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(root);
        _root = Path.GetFullPath(root);
        _timeProvider = timeProvider ?? TimeProvider.System;
        Directory.CreateDirectory(_root);
    }

    /// <inheritdoc />
    public async Task<RegisteredModel> RegisterAsync(ModelRegistration registration, ReadOnlyMemory<byte> artifact, CancellationToken cancellationToken = default)
    {
        RegistryNaming.Validate(registration);
        var versions = await ListVersionsAsync(registration.Name, cancellationToken).ConfigureAwait(false);
        var existing = RegistryNaming.FindByIdempotencyKey(versions, registration.IdempotencyKey);
        if (existing is not null)
        {
            return existing;
        }

        var modelFolder = Path.Combine(_root, registration.Name);
        Directory.CreateDirectory(modelFolder);
        var staging = Path.Combine(modelFolder, ".staging-" + Path.GetRandomFileName());
        Directory.CreateDirectory(staging);
        try
        {
            await File.WriteAllBytesAsync(Path.Combine(staging, RegistryNaming.ArtifactFileName(registration.Format)), artifact, cancellationToken).ConfigureAwait(false);
            foreach (var file in registration.Files ?? new Dictionary<string, byte[]>())
            {
                await File.WriteAllBytesAsync(Path.Combine(staging, file.Key), file.Value, cancellationToken).ConfigureAwait(false);
            }
            var version = versions.Count == 0 ? 1 : versions[^1].Version + 1;
            while (true)
            {
                var manifest = RegistryNaming.Manifest(registration, version, _timeProvider.GetUtcNow(), artifact.Span);
                await File.WriteAllBytesAsync(
                    Path.Combine(staging, RegistryNaming.ManifestFileName),
                    JsonSerializer.SerializeToUtf8Bytes(manifest, RegistryNaming.ManifestJson),
                    cancellationToken).ConfigureAwait(false);
                var target = Path.Combine(modelFolder, RegistryNaming.VersionKey(version));
                if (!Directory.Exists(target))
                {
                    try
                    {
                        Directory.Move(staging, target);
                        return manifest;
                    }
                    catch (IOException) when (Directory.Exists(target))
                    {
                        // Another registration took this version between the check and the rename.
                    }
                }

                version++;
            }
        }
        finally
        {
            if (Directory.Exists(staging))
            {
                Directory.Delete(staging, recursive: true);
            }
        }
    }

    /// <inheritdoc />
    public async Task<RegisteredModel?> GetAsync(string name, int version, CancellationToken cancellationToken = default)
    {
        RegistryNaming.ValidateName(name);
        var path = Path.Combine(_root, name, RegistryNaming.VersionKey(version), RegistryNaming.ManifestFileName);
        return version >= 1 && File.Exists(path) ? await ReadManifestAsync(path, cancellationToken).ConfigureAwait(false) : null;
    }

    /// <inheritdoc />
    public async Task<RegisteredModel?> GetLatestAsync(string name, CancellationToken cancellationToken = default)
    {
        var versions = VersionNumbers(name);
        return versions.Count == 0 ? null : await GetAsync(name, versions[^1], cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<RegisteredModel>> ListVersionsAsync(string name, CancellationToken cancellationToken = default)
    {
        var result = new List<RegisteredModel>();
        foreach (var version in VersionNumbers(name))
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
    public Task<IReadOnlyList<string>> ListNamesAsync(CancellationToken cancellationToken = default)
    {
        var names = new List<string>();
        foreach (var folder in Directory.EnumerateDirectories(_root))
        {
            var name = Path.GetFileName(folder);
            if (!name.StartsWith('.') && VersionNumbers(name).Count > 0)
            {
                names.Add(name);
            }
        }

        names.Sort(StringComparer.Ordinal);
        return Task.FromResult<IReadOnlyList<string>>(names);
    }

    /// <inheritdoc />
    public async Task<byte[]> ReadArtifactAsync(string name, int version, CancellationToken cancellationToken = default)
    {
        var model = await GetAsync(name, version, cancellationToken).ConfigureAwait(false)
            ?? throw new KeyNotFoundException($"Model '{name}' has no version {version}.");
        var path = Path.Combine(_root, name, RegistryNaming.VersionKey(version), RegistryNaming.ArtifactFileName(model.Format));
        return RegistryNaming.CheckedArtifact(model, await File.ReadAllBytesAsync(path, cancellationToken).ConfigureAwait(false));
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

        var path = Path.Combine(_root, name, RegistryNaming.VersionKey(version), fileName);
        return RegistryNaming.CheckedFile(model, fileName, await File.ReadAllBytesAsync(path, cancellationToken).ConfigureAwait(false));
    }

    private static async Task<RegisteredModel> ReadManifestAsync(string path, CancellationToken cancellationToken)
    {
        var stream = File.OpenRead(path);
        await using var streamScope = stream.ConfigureAwait(false);
        return await JsonSerializer.DeserializeAsync<RegisteredModel>(stream, RegistryNaming.ManifestJson, cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidDataException($"The manifest {path} is empty.");
    }

    /// <summary>Published versions (folders with a manifest), ascending.</summary>
    private List<int> VersionNumbers(string name)
    {
        RegistryNaming.ValidateName(name);
        var versions = new List<int>();
        var folder = Path.Combine(_root, name);
        if (!Directory.Exists(folder))
        {
            return versions;
        }

        foreach (var versionFolder in Directory.EnumerateDirectories(folder))
        {
            if (RegistryNaming.TryParseVersionKey(Path.GetFileName(versionFolder), out var version)
                && File.Exists(Path.Combine(versionFolder, RegistryNaming.ManifestFileName)))
            {
                versions.Add(version);
            }
        }

        versions.Sort();
        return versions;
    }
}
