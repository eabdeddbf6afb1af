using System.Text.Json;
using System.Text.Json.Serialization;

namespace Workflows.ML.Monitoring;

/// <summary>
/// The reference statistics stored with a model version: per feature and for the prediction, quantile bin edges of
/// the training data and the share of it in each bin. Drift checks bin recent serving data by the same edges and
/// compare shares (<see cref="DriftDetector"/>).
/// </summary>
/// <param name="Features">One entry per model input, in input order.</param>
/// <param name="Prediction">The distribution of the model's prediction (its score or positive-class probability) on the reference data.</param>
/// <param name="Rows">Reference rows.</param>
/// <param name="BinCount">Bins asked for per column (deciles: 10); a column with repeated quantiles has fewer.</param>
/// <param name="CreatedAt">When the profile (and so the model) was made; model age for staleness runs from here.</param>
public sealed record ReferenceProfile(
    IReadOnlyList<ColumnReference> Features,
    ColumnReference Prediction,
    long Rows,
    int BinCount,
    DateTimeOffset CreatedAt)
{
    /// <summary>Bins per column by default: deciles.</summary>
    public const int DefaultBinCount = 10;

    /// <summary>Name of the file a model version's profile is stored in, beside its artifact in the registry.</summary>
    public const string FileName = "reference-profile.json";

    /// <summary>Name of the prediction column.</summary>
    public const string PredictionName = "prediction";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>Features, then the prediction.</summary>
    [JsonIgnore]
    public IEnumerable<ColumnReference> Columns => Features.Append(Prediction);

    /// <summary>
    /// The profile of a merged <paramref name="partial"/>: edges at the quantiles i / <paramref name="binCount"/> of
    /// each column's sketch (repeats dropped), proportions read off the same sketch (within
    /// <see cref="ColumnReference.ProportionError"/>). Count the reference data into the edges
    /// (<see cref="BinCounts"/>) and call <see cref="WithCountedProportions"/> for exact proportions.
    /// </summary>
    public static ReferenceProfile Build(ReferencePartial partial, DateTimeOffset createdAt, int binCount = DefaultBinCount)
    {
        ArgumentNullException.ThrowIfNull(partial);
        if (binCount < 2)
        {
            throw new ArgumentOutOfRangeException(nameof(binCount), binCount, "need at least 2 bins.");
        }

        var features = new ColumnReference[partial.Features.Count];
        for (var i = 0; i < features.Length; i++)
        {
            features[i] = FromSketch(partial, i, partial.Features[i], i, binCount);
        }

        var prediction = FromSketch(partial, features.Length, PredictionName, -1, binCount);
        return new ReferenceProfile(features, prediction, partial.Rows, binCount, createdAt);
    }

    /// <summary>This profile with each column's proportions counted exactly from <paramref name="counts"/> (the reference data counted into this profile's edges).</summary>
    public ReferenceProfile WithCountedProportions(BinCounts counts)
    {
        ArgumentNullException.ThrowIfNull(counts);
        counts.EnsureFits(this);
        var columns = Columns.ToArray();
        var updated = new ColumnReference[columns.Length];
        for (var c = 0; c < columns.Length; c++)
        {
            var binned = counts.Counts[c];
            long total = 0;
            foreach (var count in binned)
            {
                total += count;
            }

            var proportions = new double[binned.Length];
            for (var b = 0; b < binned.Length; b++)
            {
                proportions[b] = total == 0 ? 0 : (double)binned[b] / total;
            }

            updated[c] = columns[c] with { Proportions = proportions, Count = total, Missing = counts.Missing[c], ProportionError = 0 };
        }

        return this with { Features = updated[..^1], Prediction = updated[^1], Rows = counts.Rows };
    }

    /// <summary>The profile as JSON (web naming, indented; infinite edges as "Infinity").</summary>
    public byte[] ToJson() => JsonSerializer.SerializeToUtf8Bytes(this, Json);

    /// <summary>Reads a profile written by <see cref="ToJson"/>.</summary>
    public static ReferenceProfile FromJson(ReadOnlySpan<byte> json) =>
        JsonSerializer.Deserialize<ReferenceProfile>(json, Json) ?? throw new JsonException("the reference profile is empty.");

    private static ColumnReference FromSketch(ReferencePartial partial, int column, string name, int index, int binCount)
    {
        var sketch = partial.Sketches[column];
        var n = sketch.Count;
        var edges = n == 0 ? [] : ReferenceBins.QuantileEdges(binCount, sketch.Quantile);
        var proportions = new double[edges.Length + 1];
        long below = 0;
        for (var b = 0; b < proportions.Length; b++)
        {
            var upTo = b < edges.Length ? sketch.CountBelow(edges[b]) : n;
            proportions[b] = n == 0 ? 0 : (double)(upTo - below) / n;
            below = upTo;
        }

        return new ColumnReference(
            name, index, edges, proportions, n, partial.Missing[column], sketch.Quantile(0), sketch.Quantile(1),
            n == 0 ? 0 : 2.0 * sketch.MaxRankError / n);
    }
}
