using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using OrtSessionOptions = Microsoft.ML.OnnxRuntime.SessionOptions;

namespace Workflows.Serving.Scoring;

/// <summary>
/// An ONNX model on one <see cref="InferenceSession"/>: one float input [N, F], a float output [N, K] or [N] (the one
/// named <c>probabilities</c> when there is one) and an optional int64 <c>label</c> [N]. Scoring binds the caller's
/// arrays as input and output tensors (<see cref="OrtValue"/> over pinned memory), so ONNX Runtime writes the results
/// in place and allocates no output tensors. Spinning is off and intra-op threads few: requests already run in parallel.
/// </summary>
internal sealed class OnnxScoringModel : IScoringModel
{
    /// <summary>The v2 platform name of ONNX models.</summary>
    public const string Platform = "onnxruntime_onnx";

    private readonly InferenceSession _session;
    private readonly RunOptions _runOptions = new();
    private readonly string[] _inputNames;
    private readonly string[] _outputNames;
    private readonly bool _valuesAreVector;

    private OnnxScoringModel(InferenceSession session, ModelSchema schema)
    {
        _session = session;
        Schema = schema;
        _inputNames = [schema.InputName];
        _outputNames = schema.LabelName is null ? [schema.ValuesName] : [schema.ValuesName, schema.LabelName];
        _valuesAreVector = session.OutputMetadata[schema.ValuesName].Dimensions.Length == 1;
    }

    public ModelSchema Schema { get; }

    /// <summary>Loads <paramref name="artifact"/>; throws <see cref="ModelLoadException"/> when it is no model the service can serve.</summary>
    public static OnnxScoringModel Load(byte[] artifact, int intraOpThreads)
    {
        using var options = new OrtSessionOptions
        {
            IntraOpNumThreads = intraOpThreads,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        };
        options.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
        options.AddSessionConfigEntry("session.inter_op.allow_spinning", "0");
        InferenceSession session;
        try
        {
            session = new InferenceSession(artifact, options);
        }
        catch (OnnxRuntimeException exception)
        {
            throw new ModelLoadException($"ONNX Runtime cannot load the artifact: {exception.Message}", exception);
        }

        try
        {
            return new OnnxScoringModel(session, SchemaOf(session));
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    public void Score(float[] features, int rows, float[] values, long[] labels)
    {
        var width = Schema.ValueWidth;
        using var input = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, features.AsMemory(0, rows * Schema.FeatureCount), [rows, Schema.FeatureCount]);
        using var valuesOut = OrtValue.CreateTensorValueFromMemory(
            OrtMemoryInfo.DefaultInstance, values.AsMemory(0, rows * width), _valuesAreVector ? [rows] : [rows, width]);
        if (Schema.LabelName is null)
        {
            _session.Run(_runOptions, _inputNames, [input], _outputNames, [valuesOut]);
            return;
        }

        using var labelsOut = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, labels.AsMemory(0, rows), [rows]);
        _session.Run(_runOptions, _inputNames, [input], _outputNames, [valuesOut, labelsOut]);
    }

    public void Dispose()
    {
        _session.Dispose();
        _runOptions.Dispose();
    }

    private static ModelSchema SchemaOf(InferenceSession session)
    {
        if (session.InputMetadata.Count != 1)
        {
            throw new ModelLoadException($"The model has {session.InputMetadata.Count} inputs; the service serves models with one float input [rows, features].");
        }

        var (inputName, input) = session.InputMetadata.First();
        if (input.ElementDataType != TensorElementType.Float || input.Dimensions.Length != 2 || input.Dimensions[1] < 1)
        {
            throw new ModelLoadException($"Input '{inputName}' must be float with shape [rows, features] and a fixed feature count.");
        }

        var floats = session.OutputMetadata.Where(output => output.Value.ElementDataType == TensorElementType.Float).ToList();
        if (floats.Count == 0)
        {
            throw new ModelLoadException("The model has no float output.");
        }

        var (valuesName, values) = floats.FirstOrDefault(output => output.Key == "probabilities") is { Key: not null } named ? named : floats[0];
        var width = values.Dimensions.Length switch
        {
            1 => 1,
            2 when values.Dimensions[1] >= 1 => values.Dimensions[1],
            _ => throw new ModelLoadException($"Output '{valuesName}' must have shape [rows] or [rows, k] with a fixed k."),
        };
        var label = session.OutputMetadata.TryGetValue("label", out var labelMetadata)
            && labelMetadata.ElementDataType == TensorElementType.Int64 && labelMetadata.Dimensions.Length == 1
            ? "label"
            : null;
        return new ModelSchema(Platform, inputName, input.Dimensions[1], valuesName, width, label);
    }
}
