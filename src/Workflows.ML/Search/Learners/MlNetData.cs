using Microsoft.ML;
using Microsoft.ML.Data;

namespace Workflows.ML.Search.Learners;

/// <summary>Our row-major features as an ML.NET data view: a <c>Features</c> vector of the set's width and a boolean <c>Label</c> (class 1).</summary>
internal static class MlNetData
{
    public static IDataView From(MLContext context, ReadOnlySpan<float> features, ReadOnlySpan<int> labels, int rowCount, int featureCount)
    {
        var rows = new Row[rowCount];
        for (var r = 0; r < rowCount; r++)
        {
            rows[r] = new Row { Features = features.Slice(r * featureCount, featureCount).ToArray(), Label = !labels.IsEmpty && labels[r] == 1 };
        }

        var schema = SchemaDefinition.Create(typeof(Row));
        schema[nameof(Row.Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, featureCount);
        return context.Data.LoadFromEnumerable(rows, schema);
    }

    /// <summary>One row as ML.NET reads it.</summary>
    internal sealed class Row
    {
        public float[] Features { get; set; } = [];

        public bool Label { get; set; }
    }
}
