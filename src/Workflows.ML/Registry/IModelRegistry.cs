namespace Workflows.ML.Registry;

/// <summary>
/// Versioned store of trained models: each registration of a name gets the next version number and keeps its
/// artifact, metrics and lineage. A version, once visible, is complete and never changes.
/// </summary>
public interface IModelRegistry
{
    /// <summary>Stores <paramref name="artifact"/> as the next version of <see cref="ModelRegistration.Name"/>.</summary>
    Task<RegisteredModel> RegisterAsync(ModelRegistration registration, ReadOnlyMemory<byte> artifact, CancellationToken cancellationToken = default);

    /// <summary>A specific version, or null if the name or version does not exist.</summary>
    Task<RegisteredModel?> GetAsync(string name, int version, CancellationToken cancellationToken = default);

    /// <summary>The highest version of <paramref name="name"/>, or null if it has none.</summary>
    Task<RegisteredModel?> GetLatestAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>Every version of <paramref name="name"/>, oldest first (empty if none).</summary>
    Task<IReadOnlyList<RegisteredModel>> ListVersionsAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>The names with at least one version, sorted ordinally.</summary>
    Task<IReadOnlyList<string>> ListNamesAsync(CancellationToken cancellationToken = default);

    /// <summary>The artifact of a version; throws <see cref="KeyNotFoundException"/> if it does not exist and
    /// <see cref="InvalidDataException"/> if its bytes no longer match the manifest's SHA-256.</summary>
    Task<byte[]> ReadArtifactAsync(string name, int version, CancellationToken cancellationToken = default);

    /// <summary>
    /// A file stored with a version (<see cref="ModelRegistration.Files"/>), or null when the version has none of that
    /// name; throws <see cref="KeyNotFoundException"/> if the version does not exist and
    /// <see cref="InvalidDataException"/> if the bytes no longer match the manifest's SHA-256.
    /// </summary>
    Task<byte[]?> ReadFileAsync(string name, int version, string fileName, CancellationToken cancellationToken = default);
}
