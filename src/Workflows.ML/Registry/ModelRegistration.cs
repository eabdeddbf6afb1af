namespace Workflows.ML.Registry;

/// <summary>A model to register: the registry assigns the next version of <paramref name="Name"/>.</summary>
/// <param name="Name">Model name: letters, digits, '.', '_' or '-', starting with a letter or digit, at most 100 characters.</param>
/// <param name="Format">Artifact format, e.g. "onnx" (lower-case letters and digits).</param>
/// <param name="Metrics">Holdout metrics, e.g. accuracy, logLoss, rocAuc.</param>
/// <param name="Lineage">Dataset, stats artifact, parameters and commit.</param>
/// <param name="IdempotencyKey">
/// Optional key of the registering operation (e.g. the activity's idempotency key): registering again with a key
/// that a version already carries returns that version instead of adding one, so an at-least-once activity
/// registers its model once.
/// </param>
/// <param name="Files">
/// Optional files stored with the version beside the artifact (e.g. <c>reference-profile.json</c>), by file name
/// (lower-case letters, digits, '.', '_' or '-', not the manifest's or the artifact's name). They are written before
/// the manifest, which records each file's SHA-256, so a visible version has all of them.
/// </param>
public sealed record ModelRegistration(
    string Name,
    string Format,
    IReadOnlyDictionary<string, double> Metrics,
    ModelLineage Lineage,
    string? IdempotencyKey = null,
    IReadOnlyDictionary<string, byte[]>? Files = null)
{
    /// <summary>
    /// Throws <see cref="ArgumentException"/> unless <paramref name="name"/> is a model name every registry accepts:
    /// 1 to 100 letters, digits, '.', '_' or '-', starting with a letter or digit (it names folders and blobs).
    /// </summary>
    public static void ValidateName(string name) => RegistryNaming.ValidateName(name);
}
