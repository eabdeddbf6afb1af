using Workflows.ML.Data;

namespace Workflows.ML.Statistics;

/// <summary>
/// What a statistics pass of <see cref="ChunkStatistics"/> reads: a group of chunks of a dataset (one activity's), the
/// feature columns to read from each, and the reader that decodes them.
/// </summary>
/// <param name="Reader">The reader the chunks are decoded with.</param>
/// <param name="Dataset">The dataset the chunks belong to.</param>
/// <param name="Chunks">The chunks of the group, read one at a time.</param>
/// <param name="Columns">The feature columns to reduce, in the order of the partial's columns.</param>
public sealed record ChunkGroup(DatasetReader Reader, DatasetDescription Dataset, IReadOnlyList<ChunkLocation> Chunks, IReadOnlyList<DatasetColumn> Columns);
