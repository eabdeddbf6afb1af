namespace Workflows.Serving.Scoring;

/// <summary>
/// What a loaded model takes and gives: one float input of <see cref="FeatureCount"/> features per row, one float
/// output of <see cref="ValueWidth"/> values per row (<see cref="ValuesName"/>) and, for classifiers, an int64 label per
/// row (<see cref="LabelName"/>).
/// </summary>
/// <param name="Platform">The v2 metadata platform, e.g. <c>onnxruntime_onnx</c>.</param>
/// <param name="InputName">The input tensor's name, <c>features</c> for our ONNX models.</param>
/// <param name="FeatureCount">Features per row.</param>
/// <param name="ValuesName">The float output's name: <c>probabilities</c> or <c>score</c>.</param>
/// <param name="ValueWidth">Float values per row.</param>
/// <param name="LabelName">The label output's name, or null when the model gives no label.</param>
internal sealed record ModelSchema(string Platform, string InputName, int FeatureCount, string ValuesName, int ValueWidth, string? LabelName)
{
    /// <summary>The input the model expects, as an error message names it.</summary>
    public string DescribeInput() => $"input '{InputName}' with datatype FP32 or FP64 and shape [rows, {FeatureCount}]";
}
