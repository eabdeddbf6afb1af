using System.Text.Json;

namespace Workflows.ML.Statistics;

/// <summary>
/// The result of the chunked statistics: per column summaries and the label distribution. Serialized as the
/// stats artifact next to the dataset, from which training takes each feature's mean and standard deviation.
/// </summary>
/// <param name="Dataset">The dataset path.</param>
/// <param name="Rows">Rows in the dataset.</param>
/// <param name="Chunks">Chunks read.</param>
/// <param name="Columns">Per column statistics, in the order asked for.</param>
/// <param name="LabelDistribution">Rows per label value (invariant text of the value; "missing" for NaN); empty without a label.</param>
/// <param name="ChunkPositions">
/// The chunk positions (0-based, in the dataset's chunk order) the statistics cover when they cover only some
/// chunks, e.g. a training run's chunks without its holdout; <see langword="null"/> for the whole dataset.
/// </param>
public sealed record StatisticsReport(
    string Dataset,
    long Rows,
    int Chunks,
    IReadOnlyList<ColumnSummary> Columns,
    IReadOnlyDictionary<string, long> LabelDistribution,
    IReadOnlyList<int>? ChunkPositions = null)
{
    /// <summary>File name of the stats artifact written into a dataset folder.</summary>
    public const string ArtifactFileName = "_statistics.json";

    /// <summary>
    /// Where the artifact of a dataset goes: <c>{folder}/_statistics.json</c> for a folder (readers list only
    /// .parquet/.csv files, so it is never taken for data), <c>{file}.statistics.json</c> next to a single file.
    /// </summary>
    /// <remarks>
    /// Statistics of some chunks only (<paramref name="chunkPositions"/>) go to <c>_statistics.chunks-{id}.json</c>
    /// (<c>{file}.statistics.chunks-{id}.json</c>), <c>id</c> a digest of the positions, so they never overwrite the
    /// whole dataset's artifact nor another subset's.
    /// </remarks>
    public static string ArtifactPath(Data.IDatasetStorage storage, string datasetRoot, IReadOnlyList<int>? chunkPositions = null)
    {
        ArgumentNullException.ThrowIfNull(storage);
        ArgumentNullException.ThrowIfNull(datasetRoot);
        var subset = chunkPositions is null ? string.Empty : ".chunks-" + SubsetId(chunkPositions);
        return datasetRoot.EndsWith(".parquet", StringComparison.OrdinalIgnoreCase) || datasetRoot.EndsWith(".csv", StringComparison.OrdinalIgnoreCase)
            ? datasetRoot + ".statistics" + subset + ".json"
            : storage.Combine(datasetRoot, "_statistics" + subset + ".json");
    }

    private static string SubsetId(IReadOnlyList<int> positions)
    {
        var text = string.Join(',', positions.Select(p => p.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        return Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(text)))[..12];
    }

    private static readonly JsonSerializerOptions ArtifactJson = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    /// <summary>
    /// Builds the report from the merged first pass and (optionally) the merged histograms. Quantiles come from the
    /// first pass's sketches when it has them, otherwise from the histograms (see <see cref="HistogramQuantiles"/>);
    /// <paramref name="reportHistograms"/> false leaves the histograms out of the report (they were counted for the
    /// quantiles only). Throws <see cref="InvalidOperationException"/> naming the column when a column has no values
    /// at all: its mean and range do not exist, and training could not standardize it.
    /// </summary>
    public static StatisticsReport Build(
        string dataset,
        FirstPassPartial first,
        HistogramPartial? histograms,
        IReadOnlyList<double> quantiles,
        bool reportHistograms = true,
        IReadOnlyList<int>? chunkPositions = null)
    {
        ArgumentNullException.ThrowIfNull(first);
        ArgumentNullException.ThrowIfNull(quantiles);
        EnsureEveryColumnHasValues(first);
        var columns = new ColumnSummary[first.Columns.Count];
        var qs = quantiles.ToArray();
        var estimates = new double[qs.Length];
        for (var i = 0; i < columns.Length; i++)
        {
            if (histograms is not null && !histograms.IsCounted(i))
            {
                // A first-pass partial that left the column to the second pass: combine them first (FirstPassHistograms.Combine).
                throw new ArgumentException($"the histograms do not count column '{first.Columns[i]}'.", nameof(histograms));
            }

            var m = first.Moments[i];
            List<QuantileValue>? values = null;
            long? rankError = null;
            double? valueError = null;
            if (qs.Length > 0 && first.Sketches is { } sketches)
            {
                sketches[i].Quantiles(qs, estimates);
                rankError = sketches[i].MaxRankError;
            }
            else if (qs.Length > 0 && histograms is not null)
            {
                long worst = 0;
                for (var q = 0; q < qs.Length; q++)
                {
                    (estimates[q], var error) = HistogramQuantiles.Estimate(histograms.Counts[i], histograms.Min[i], histograms.Max[i], qs[q]);
                    worst = Math.Max(worst, error);
                }

                rankError = worst;
                valueError = (histograms.Max[i] - histograms.Min[i]) / histograms.Counts[i].Length;
            }

            if (rankError is not null)
            {
                values = new List<QuantileValue>(qs.Length);
                for (var q = 0; q < qs.Length; q++)
                {
                    values.Add(new QuantileValue(qs[q], estimates[q]));
                }
            }

            var histogram = histograms is null || !reportHistograms ? null : new HistogramSummary(histograms.Min[i], histograms.Max[i], histograms.ReportedCounts(i));
            columns[i] = new ColumnSummary(
                first.Columns[i], m.Count, m.Missing, m.Mean, m.PopulationVariance, m.Count > 1 ? m.SampleVariance : null,
                m.PopulationStd, m.Count > 1 ? m.SampleStd : null, m.Min, m.Max, histogram, values, rankError, valueError);
        }

        return new StatisticsReport(dataset, first.Rows, first.Chunks, columns, new SortedDictionary<string, long>(first.Labels, StringComparer.Ordinal), chunkPositions);
    }

    /// <summary>Throws <see cref="InvalidOperationException"/> naming the first column that has no values at all.</summary>
    public static void EnsureEveryColumnHasValues(FirstPassPartial first)
    {
        ArgumentNullException.ThrowIfNull(first);
        if (first.Rows == 0)
        {
            throw new InvalidOperationException("the dataset has no rows.");
        }

        for (var i = 0; i < first.Columns.Count; i++)
        {
            if (first.Moments[i].Count == 0)
            {
                throw new InvalidOperationException($"column '{first.Columns[i]}' has no values: all {first.Moments[i].Missing} rows are NaN or null.");
            }
        }
    }

    /// <summary>The artifact's JSON (indented, web naming).</summary>
    public byte[] ToArtifactJson() => JsonSerializer.SerializeToUtf8Bytes(this, ArtifactJson);

    /// <summary>Reads an artifact written by <see cref="ToArtifactJson"/>.</summary>
    public static StatisticsReport FromArtifactJson(ReadOnlySpan<byte> json) =>
        JsonSerializer.Deserialize<StatisticsReport>(json, ArtifactJson) ?? throw new JsonException("the statistics artifact is empty.");
}
