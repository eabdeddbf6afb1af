namespace Workflows.Serving.Scoring;

/// <summary>Opens a registry artifact by its format: <c>onnx</c> with ONNX Runtime, <c>mlnet</c> or <c>zip</c> with ML.NET.</summary>
internal static class ModelLoader
{
    /// <summary>The registry formats the service serves.</summary>
    public static readonly IReadOnlyList<string> Formats = ["onnx", "mlnet", "zip"];

    public static IScoringModel Load(string format, byte[] artifact, int onnxIntraOpThreads) => format switch
    {
        "onnx" => OnnxScoringModel.Load(artifact, onnxIntraOpThreads),
        "mlnet" or "zip" => MlNetScoringModel.Load(artifact),
        _ => throw new ModelLoadException($"Format '{format}' is not served (served: {string.Join(", ", Formats)})."),
    };
}
