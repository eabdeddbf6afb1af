using Workflows.ML.Kernels;

namespace Workflows.ML.Statistics;

/// <summary>
/// What either pass of <see cref="ChunkStatistics"/> reads and what it reduces it with; each pass's own settings are
/// in <see cref="FirstPassRequest"/> and <see cref="SecondPassRequest"/>.
/// </summary>
public abstract record ChunkPassRequest
{
    /// <summary>The chunks and columns to read.</summary>
    public required ChunkGroup Group { get; init; }

    /// <summary>The kernel each decoded column is reduced with.</summary>
    public required IStatisticsKernel Kernel { get; init; }
}
