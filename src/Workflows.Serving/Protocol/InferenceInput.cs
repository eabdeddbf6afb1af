using Workflows.Serving.Scoring;

namespace Workflows.Serving.Protocol;

/// <summary>
/// A parsed inference request: its id, its one input tensor (name, datatype, shape, values as float32 row-major; a
/// missing value is NaN) and the outputs asked for (null: all).
/// </summary>
internal sealed class InferenceInput
{
    public string? Id { get; init; }

    public required string InputName { get; init; }

    public required string Datatype { get; init; }

    public required long[] Shape { get; init; }

    public required float[] Data { get; init; }

    public IReadOnlyList<string>? RequestedOutputs { get; init; }

    /// <summary>Rows, valid after <see cref="Validate"/>.</summary>
    public int Rows { get; private set; }

    /// <summary>Checks the input against the model's schema; throws <see cref="InputException"/> naming what is expected.</summary>
    public void Validate(ModelSchema schema, int maxRows)
    {
        ArgumentNullException.ThrowIfNull(schema);
        string Problem(string what) => $"{what} Expected {schema.DescribeInput()}.";
        if (InputName != schema.InputName)
        {
            throw new InputException(Problem($"Unknown input '{InputName}'."));
        }

        if (Datatype is not ("FP32" or "FP64"))
        {
            throw new InputException(Problem($"Datatype '{Datatype}' is not served."));
        }

        if (Shape.Length != 2 || Shape[0] < 1 || Shape[1] < 1)
        {
            throw new InputException(Problem($"Shape [{string.Join(", ", Shape)}] is not [rows, features]."));
        }

        if (Shape[1] != schema.FeatureCount)
        {
            throw new InputException(Problem($"Shape [{string.Join(", ", Shape)}] has {Shape[1]} features."));
        }

        if (Shape[0] > maxRows)
        {
            throw new InputException(Problem($"{Shape[0]} rows are more than the {maxRows} a request may have."));
        }

        if (Shape[0] * Shape[1] != Data.Length)
        {
            throw new InputException(Problem($"Shape [{string.Join(", ", Shape)}] holds {Shape[0] * Shape[1]} values; the data has {Data.Length}."));
        }

        if (RequestedOutputs is not null)
        {
            foreach (var output in RequestedOutputs)
            {
                if (output != schema.ValuesName && output != schema.LabelName)
                {
                    throw new InputException($"Unknown output '{output}'. The model gives '{schema.ValuesName}'{(schema.LabelName is null ? string.Empty : $" and '{schema.LabelName}'")}.");
                }
            }
        }

        Rows = (int)Shape[0];
    }

    /// <summary>Whether output <paramref name="name"/> is to be returned.</summary>
    public bool Wants(string name) => RequestedOutputs is null || RequestedOutputs.Contains(name);
}
