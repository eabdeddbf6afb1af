using Workflows.ML.Data;

namespace Workflows.Testing;

/// <summary>
/// Local dataset storage for tests: confined to a data root at the system's temporary folder, where the tests write
/// their datasets (each in a folder of its own), so the tests' absolute paths lie inside it.
/// </summary>
public static class TestStorage
{
    /// <summary>The tests' data root: the system's temporary folder.</summary>
    public static DataRoot Root { get; } = new(Path.GetTempPath());

    /// <summary>Local storage confined to <see cref="Root"/>.</summary>
    public static LocalDatasetStorage Local { get; } = new(Root);

    /// <summary>The file-system path of <paramref name="path"/>, a path as the storage names it (relative to the root).</summary>
    public static string FullPath(string path) => Root.Resolve(path, "path");
}
