using Workflows.ML.Data;

namespace Workflows.Bench;

/// <summary>The benchmarks' data root: the system's temporary folder, where each scenario writes its datasets.</summary>
internal static class BenchStorage
{
    /// <summary>The data root.</summary>
    public static DataRoot Root { get; } = new(Path.GetTempPath());

    /// <summary>Local storage confined to <see cref="Root"/>.</summary>
    public static LocalDatasetStorage Local { get; } = new(Root);
}
