using Microsoft.ML;
using Microsoft.ML.Data;

namespace Workflows.ML.Search.Learners;

/// <summary>A binary ML.NET model whose output has a calibrated <c>Probability</c> column; saved as ML.NET's model .zip.</summary>
internal sealed class MlNetModel : ITrainedModel
{
    private readonly MLContext _context;
    private readonly ITransformer _model;
    private readonly DataViewSchema _inputSchema;
    private readonly int _featureCount;

    public MlNetModel(MLContext context, ITransformer model, DataViewSchema inputSchema, int featureCount)
    {
        _context = context;
        _model = model;
        _inputSchema = inputSchema;
        _featureCount = featureCount;
    }

    public int ClassCount => 2;

    public string Format => "mlnet-zip";

    /// <summary>Null: ML.NET's tree trainers have no warm start, so a promoted trial trains again from scratch.</summary>
    public byte[]? Checkpoint => null;

    public float[] PredictProbabilities(ReadOnlySpan<float> features, int rowCount)
    {
        if (features.Length != (long)rowCount * _featureCount)
        {
            throw new ArgumentException($"{features.Length} feature values for {rowCount} rows; the model has {_featureCount} features.", nameof(features));
        }

        var scored = _model.Transform(MlNetData.From(_context, features, default, rowCount, _featureCount));
        return TwoClassProbabilities.FromPositive(scored.GetColumn<float>("Probability").ToArray());
    }

    public void Save(Stream stream) => _context.Model.Save(_model, _inputSchema, stream);
}
