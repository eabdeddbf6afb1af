using Google.Protobuf;
using Workflows.ML.Onnx.Proto;
using Workflows.ML.Training;

namespace Workflows.ML.Onnx;

/// <summary>
/// Writes a <see cref="LogisticRegressionModel"/> as an ONNX model (IR 8, opset 13) that ONNX Runtime and ML.NET's
/// <c>ApplyOnnxModel</c> load. The graph computes exactly what our scorer computes:
/// <code>
/// features [N,F] ─ IsNaN/Where (NaN → mean) ─ Sub(mean) ─ MatMul(W') ─ Add(b) ─ Sigmoid | Softmax ─▶ probabilities
///                                                                     └ (p &gt; 0.5 | ArgMax) ─▶ label [N] int64
/// </code>
/// The standardization's centering is its own Sub node; its scale 1/std is folded into the weights
/// <c>W' = W / std</c>, which saves a node and a pass and is what training computes too.
/// Binary models output <c>probabilities</c> as [N,1], the probability of class 1; multinomial ones as [N,C].
/// </summary>
public static class OnnxModelExporter
{
    /// <summary>Name of the graph input: float [N, FeatureCount].</summary>
    public const string FeaturesInput = "features";

    /// <summary>Name of the probability output: float [N,1] (binary, P(class 1)) or [N,ClassCount].</summary>
    public const string ProbabilitiesOutput = "probabilities";

    /// <summary>Name of the predicted-class output: int64 [N].</summary>
    public const string LabelOutput = "label";

    private const long IrVersion = 8;
    private const long OpsetVersion = 13;

    /// <summary>The serialized ModelProto of <paramref name="model"/>; <paramref name="description"/> becomes its doc string.</summary>
    public static byte[] Export(LogisticRegressionModel model, string description = "")
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(description);
        var features = model.FeatureCount;
        var outputs = model.OutputCount;
        var graph = new GraphProto { Name = "logistic_regression" };

        // MatMul wants [F, outputs]; the model keeps one row of F weights per output.
        var weights = new float[features * outputs];
        for (var c = 0; c < outputs; c++)
        {
            for (var j = 0; j < features; j++)
            {
                weights[(j * outputs) + c] = model.ScaledWeights[(c * features) + j];
            }
        }

        graph.Initializer.Add(FloatTensor("mean", model.Mean, features));
        graph.Initializer.Add(FloatTensor("weights", weights, features, outputs));
        graph.Initializer.Add(FloatTensor("bias", model.Bias, outputs));
        graph.Node.Add(Node("IsNaN", [FeaturesInput], "missing"));
        graph.Node.Add(Node("Where", ["missing", "mean", FeaturesInput], "imputed"));
        graph.Node.Add(Node("Sub", ["imputed", "mean"], "centered"));
        graph.Node.Add(Node("MatMul", ["centered", "weights"], "scores"));
        graph.Node.Add(Node("Add", ["scores", "bias"], "logits"));
        if (outputs == 1)
        {
            graph.Initializer.Add(FloatTensor("half", [0.5f]));
            graph.Initializer.Add(Int64Tensor("flat", [-1], 1));
            graph.Node.Add(Node("Sigmoid", ["logits"], ProbabilitiesOutput));
            graph.Node.Add(Node("Greater", [ProbabilitiesOutput, "half"], "positive"));
            graph.Node.Add(Node("Cast", ["positive"], "label_column", IntAttribute("to", (long)TensorProto.Types.DataType.Int64)));
            graph.Node.Add(Node("Reshape", ["label_column", "flat"], LabelOutput));
        }
        else
        {
            graph.Node.Add(Node("Softmax", ["logits"], ProbabilitiesOutput, IntAttribute("axis", 1)));
            graph.Node.Add(Node("ArgMax", [ProbabilitiesOutput], LabelOutput, IntAttribute("axis", 1), IntAttribute("keepdims", 0)));
        }

        graph.Input.Add(ValueInfo(FeaturesInput, TensorProto.Types.DataType.Float, Dimension("N"), Dimension(features)));
        graph.Output.Add(ValueInfo(ProbabilitiesOutput, TensorProto.Types.DataType.Float, Dimension("N"), Dimension(outputs)));
        graph.Output.Add(ValueInfo(LabelOutput, TensorProto.Types.DataType.Int64, Dimension("N")));

        var proto = new ModelProto
        {
            IrVersion = IrVersion,
            ProducerName = "Workflows.ML",
            ProducerVersion = "1",
            DocString = description,
            Graph = graph,
        };
        proto.OpsetImport.Add(new OperatorSetIdProto { Domain = string.Empty, Version = OpsetVersion });
        return proto.ToByteArray();
    }

    private static NodeProto Node(string opType, string[] inputs, string output, params AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = opType, Name = output + "_" + opType, Domain = string.Empty };
        node.Input.Add(inputs);
        node.Output.Add(output);
        node.Attribute.Add(attributes);
        return node;
    }

    private static AttributeProto IntAttribute(string name, long value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    private static TensorProto FloatTensor(string name, ReadOnlySpan<float> values, params long[] dims)
    {
        var tensor = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float };
        tensor.Dims.Add(dims);
        foreach (var value in values)
        {
            tensor.FloatData.Add(value);
        }

        return tensor;
    }

    private static TensorProto Int64Tensor(string name, long[] values, params long[] dims)
    {
        var tensor = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Int64 };
        tensor.Dims.Add(dims);
        tensor.Int64Data.Add(values);
        return tensor;
    }

    private static TensorShapeProto.Types.Dimension Dimension(string symbol) => new() { DimParam = symbol };

    private static TensorShapeProto.Types.Dimension Dimension(long size) => new() { DimValue = size };

    private static ValueInfoProto ValueInfo(string name, TensorProto.Types.DataType type, params TensorShapeProto.Types.Dimension[] dims)
    {
        var shape = new TensorShapeProto();
        shape.Dim.Add(dims);
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = shape } },
        };
    }
}
