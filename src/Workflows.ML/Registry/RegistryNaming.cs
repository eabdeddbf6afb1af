using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;

namespace Workflows.ML.Registry;

/// <summary>Rules and encodings every registry implementation shares: names, version keys, manifests, hashes.</summary>
internal static class RegistryNaming
{
    public const string ManifestFileName = "manifest.json";

    public static readonly JsonSerializerOptions ManifestJson = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = true,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>Names become folder and blob-path segments, so they are kept to a safe alphabet.</summary>
    public static void ValidateName(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (name.Length is 0 or > 100 || !char.IsAsciiLetterOrDigit(name[0]))
        {
            throw new ArgumentException($"Model name '{name}' must be 1 to 100 characters and start with a letter or digit.", nameof(name));
        }

        foreach (var c in name)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('.' or '_' or '-'))
            {
                throw new ArgumentException($"Model name '{name}' may only contain letters, digits, '.', '_' and '-' (found '{c}').", nameof(name));
            }
        }
    }

    public static void Validate(ModelRegistration registration)
    {
        ArgumentNullException.ThrowIfNull(registration);
        ValidateName(registration.Name);
        ArgumentNullException.ThrowIfNull(registration.Metrics);
        ArgumentNullException.ThrowIfNull(registration.Lineage);
        foreach (var file in registration.Files ?? new Dictionary<string, byte[]>())
        {
            ValidateFileName(file.Key, registration.Format ?? string.Empty);
            ArgumentNullException.ThrowIfNull(file.Value, nameof(registration));
        }

        if (string.IsNullOrEmpty(registration.Format) || registration.Format.Length > 20
            || !registration.Format.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c)))
        {
            throw new ArgumentException($"Model format '{registration.Format}' must be 1 to 20 lower-case letters or digits, e.g. 'onnx'.", nameof(registration));
        }
    }

    /// <summary>Zero-padded so that ordinal order of folder and blob names is version order.</summary>
    public static string VersionKey(int version) => version.ToString("D6", CultureInfo.InvariantCulture);

    public static bool TryParseVersionKey(string key, out int version) =>
        int.TryParse(key, NumberStyles.None, CultureInfo.InvariantCulture, out version) && version >= 1 && key.Length == 6;

    public static string ArtifactFileName(string format) => "model." + format;

    public static string Sha256Hex(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    public static RegisteredModel Manifest(ModelRegistration registration, int version, DateTimeOffset now, ReadOnlySpan<byte> artifact) =>
        new(registration.Name, version, registration.Format, registration.Metrics, registration.Lineage, now, Sha256Hex(artifact), artifact.Length, registration.IdempotencyKey,
            registration.Files is null ? null : new SortedDictionary<string, string>(registration.Files.ToDictionary(f => f.Key, f => Sha256Hex(f.Value)), StringComparer.Ordinal));

    /// <summary>Throws <see cref="ArgumentException"/> unless <paramref name="fileName"/> may name a file stored with a version of <paramref name="format"/>.</summary>
    public static void ValidateFileName(string fileName, string format)
    {
        ArgumentNullException.ThrowIfNull(fileName);
        if (fileName.Length is 0 or > 100 || !char.IsAsciiLetterLower(fileName[0]) && !char.IsAsciiDigit(fileName[0])
            || !fileName.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '.' or '_' or '-')
            || fileName == ManifestFileName || fileName == ArtifactFileName(format))
        {
            throw new ArgumentException(
                $"File name '{fileName}' must be 1 to 100 lower-case letters, digits, '.', '_' or '-', start with a letter or digit, and be neither '{ManifestFileName}' nor the artifact's name.",
                nameof(fileName));
        }
    }

    /// <summary>The bytes of a stored file when they match the manifest's SHA-256; throws <see cref="InvalidDataException"/> otherwise.</summary>
    public static byte[] CheckedFile(RegisteredModel model, string fileName, byte[] bytes) =>
        model.Files is { } files && files.TryGetValue(fileName, out var sha) && Sha256Hex(bytes) == sha
            ? bytes
            : throw new InvalidDataException($"The file '{fileName}' of model '{model.Name}' version {model.Version} does not match its manifest's SHA-256.");

    public static byte[] CheckedArtifact(RegisteredModel model, byte[] bytes) =>
        Sha256Hex(bytes) == model.ArtifactSha256
            ? bytes
            : throw new InvalidDataException($"The artifact of model '{model.Name}' version {model.Version} does not match its manifest's SHA-256.");

    public static RegisteredModel? FindByIdempotencyKey(IReadOnlyList<RegisteredModel> versions, string? key)
    {
        if (key is null)
        {
            return null;
        }

        foreach (var version in versions)
        {
            if (version.IdempotencyKey == key)
            {
                return version;
            }
        }

        return null;
    }
}
