using Workflows.ML.Data;
using Workflows.ML.Kernels;

namespace Workflows.ML.Statistics;

/// <summary>
/// The two passes over a group of chunks, as one activity runs them: read each chunk, reduce it with a kernel,
/// fold it into a partial. Chunks are read one at a time, so memory stays at one chunk per group.
/// </summary>
public static class ChunkStatistics
{
    /// <summary>
    /// First pass: moments, label counts and, when <paramref name="sketchCapacity"/> is given, quantile sketches of
    /// that capacity, over <paramref name="chunks"/>.
    /// </summary>
    public static async Task<MomentsPartial> ComputeMomentsAsync(
        DatasetReader reader,
        DatasetDescription dataset,
        IReadOnlyList<DatasetChunk> chunks,
        IReadOnlyList<DatasetColumn> columns,
        int? sketchCapacity,
        IStatisticsKernel kernel,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(chunks);
        ArgumentNullException.ThrowIfNull(columns);
        var partial = MomentsPartial.Create(Names(columns), sketchCapacity is not null, sketchCapacity ?? QuantileSketch.DefaultCapacity);
        foreach (var chunk in chunks)
        {
            // Each column is reduced as soon as it is decoded, while it is still in the CPU cache.
            var data = await reader.ReadChunkAsync(dataset, chunk, columns, (i, column) => partial.AddColumn(i, column, kernel), cancellationToken).ConfigureAwait(false);
            partial.CompleteChunk(data);
        }

        return partial;
    }

    /// <summary>
    /// Second pass: histogram counts of <paramref name="chunks"/> over the ranges the first pass found, each of the
    /// <paramref name="bins"/> bins counted as <paramref name="subdivisions"/> fine bins (see <see cref="HistogramPartial"/>).
    /// </summary>
    public static async Task<HistogramPartial> ComputeHistogramsAsync(
        DatasetReader reader,
        DatasetDescription dataset,
        IReadOnlyList<DatasetChunk> chunks,
        IReadOnlyList<DatasetColumn> columns,
        IReadOnlyList<Moments> firstPass,
        int bins,
        int subdivisions,
        IStatisticsKernel kernel,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(chunks);
        ArgumentNullException.ThrowIfNull(dataset);
        var partial = HistogramPartial.Create(firstPass, bins, subdivisions);

        // The labels were counted in the first pass: do not decode them again.
        var features = dataset with { LabelColumn = null };
        foreach (var chunk in chunks)
        {
            var data = await reader.ReadChunkAsync(features, chunk, columns, (i, column) => partial.AddColumn(i, column, kernel), cancellationToken).ConfigureAwait(false);
            partial.CompleteChunk(data);
        }

        return partial;
    }

    private static string[] Names(IReadOnlyList<DatasetColumn> columns)
    {
        var names = new string[columns.Count];
        for (var i = 0; i < names.Length; i++)
        {
            names[i] = columns[i].Name;
        }

        return names;
    }
}
