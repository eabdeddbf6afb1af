namespace Workflows.ML.Data;

/// <summary>
/// The one folder that local datasets, generated data, statistics artifacts, checkpoints and the model registry live
/// under (the app setting <c>WorkflowsDataRoot</c>). Paths from requests are relative to it; an absolute path is
/// accepted only when it lies inside it. A path with a <c>..</c> segment is refused whatever it resolves to, and a
/// path whose existing part leads out through a symbolic link is refused when it is used (<see cref="Confine"/>).
/// </summary>
public sealed class DataRoot
{
    /// <summary>The app setting (or environment variable) that names the data root.</summary>
    public const string Setting = "WorkflowsDataRoot";

    /// <summary>The data root when none is configured: <c>data</c> in the current directory (where <c>./run.sh</c> runs).</summary>
    public const string DefaultFolder = "data";

    private readonly string _prefix;

    /// <summary>A data root at <paramref name="folder"/> (relative to the current directory), created when missing.</summary>
    public DataRoot(string folder)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        Directory.CreateDirectory(folder);

        // The root itself may be reached through links (a mounted volume, /tmp on macOS): compare against its real path.
        FullPath = RealPath(Path.TrimEndingDirectorySeparator(Path.GetFullPath(folder)));
        _prefix = FullPath.EndsWith(Path.DirectorySeparatorChar) ? FullPath : FullPath + Path.DirectorySeparatorChar;
    }

    /// <summary>The root's full, link-free path.</summary>
    public string FullPath { get; }

    /// <summary>
    /// The full path of the request path <paramref name="path"/> given as <paramref name="field"/>, checked by its text
    /// alone (no file-system access, so orchestrators may call it): relative paths are taken from the root, absolute
    /// ones must lie inside it, and no segment may be <c>..</c>. Throws <see cref="DataPathException"/> naming the field
    /// and the rule otherwise.
    /// </summary>
    public string Resolve(string path, string field)
    {
        ArgumentException.ThrowIfNullOrEmpty(field);
        if (string.IsNullOrWhiteSpace(path))
        {
            throw new DataPathException(field, path ?? string.Empty, "a path relative to the data root is required");
        }

        if (path.Contains('\0', StringComparison.Ordinal))
        {
            throw new DataPathException(field, path.Replace("\0", "\\0", StringComparison.Ordinal), "a path may not contain NUL characters");
        }

        ThrowIfParentSegment(path, field);

        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(Path.IsPathRooted(path) ? path : Path.Combine(FullPath, path)));
        if (!IsInside(full))
        {
            throw new DataPathException(field, path, "an absolute path must lie inside the data root (request paths are relative to it)");
        }

        return full;
    }

    /// <summary>
    /// <see cref="Resolve"/>, then the file-system check: following every symbolic link on the way, the path still
    /// lies inside the root. Call it right before the path is read or written.
    /// </summary>
    public string Confine(string path, string field)
    {
        var full = Resolve(path, field);
        if (!IsInside(RealPath(full)))
        {
            throw new DataPathException(field, path, "a path may not lead out of the data root through a symbolic link");
        }

        return full;
    }

    /// <summary>
    /// Throws <see cref="DataPathException"/> when <paramref name="path"/> has a <c>..</c> segment ('/' or '\\'
    /// separated): refused whatever it resolves to, by every storage.
    /// </summary>
    public static void ThrowIfParentSegment(string path, string field)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (Array.Exists(path.Split('/', '\\'), segment => segment == ".."))
        {
            throw new DataPathException(field, path, "a path may not contain '..' segments");
        }
    }

    /// <summary><paramref name="fullPath"/> relative to the root, with '/' separators (how paths are shown and recorded).</summary>
    public string Relative(string fullPath)
    {
        var relative = Path.GetRelativePath(FullPath, fullPath);
        return Path.DirectorySeparatorChar == '/' ? relative : relative.Replace(Path.DirectorySeparatorChar, '/');
    }

    private bool IsInside(string full) =>
        string.Equals(full, FullPath, StringComparison.Ordinal) || full.StartsWith(_prefix, StringComparison.Ordinal);

    /// <summary>The path with every symbolic link of its existing part resolved; the part that does not exist yet is kept.</summary>
    private static string RealPath(string full)
    {
        var root = Path.GetPathRoot(full)!;
        var current = root;
        var parts = full[root.Length..].Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries);
        for (var i = 0; i < parts.Length; i++)
        {
            var next = Path.Combine(current, parts[i]);
            FileSystemInfo info = Directory.Exists(next) ? new DirectoryInfo(next) : new FileInfo(next);
            if (!info.Exists)
            {
                return Path.Combine([current, .. parts[i..]]);
            }

            current = info.LinkTarget is null ? next : Path.TrimEndingDirectorySeparator(RealPath(Path.GetFullPath(info.ResolveLinkTarget(returnFinalTarget: true)!.FullName)));
        }

        return current;
    }
}
