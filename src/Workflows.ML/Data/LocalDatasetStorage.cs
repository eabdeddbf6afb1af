using System.Globalization;

namespace Workflows.ML.Data;

/// <summary>
/// Datasets on the local file system (or a shared mount every worker sees), confined to a <see cref="DataRoot"/>:
/// paths are relative to the root (absolute ones must lie inside it), every path is checked right before it is read
/// or written (<see cref="DataRoot.Confine"/>), and the files of a dataset are listed relative to the root, so
/// histories and error messages carry no server paths.
/// </summary>
public sealed class LocalDatasetStorage(DataRoot root) : IDatasetStorage
{
    /// <summary>The root every path is confined to.</summary>
    public DataRoot Root { get; } = root ?? throw new ArgumentNullException(nameof(root));

    /// <inheritdoc/>
    public Task<IReadOnlyList<string>> ListFilesAsync(string root, string extension, CancellationToken cancellationToken)
    {
        var full = Root.Confine(root, "dataset");
        if (File.Exists(full))
        {
            return Task.FromResult<IReadOnlyList<string>>([Root.Relative(full)]);
        }

        if (!Directory.Exists(full))
        {
            throw new DatasetException($"dataset '{root}' does not exist.");
        }

        var files = Directory.GetFiles(full, "*" + extension, SearchOption.TopDirectoryOnly);
        Array.Sort(files, StringComparer.Ordinal);
        return Task.FromResult<IReadOnlyList<string>>(Array.ConvertAll(files, Root.Relative));
    }

    /// <inheritdoc/>
    public Task<Stream> OpenReadAsync(string path, CancellationToken cancellationToken)
    {
        var full = Root.Confine(path, "file");
        try
        {
            return Task.FromResult<Stream>(new FileStream(full, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous));
        }
        catch (Exception exception) when (exception is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new DatasetException($"file '{path}' does not exist.", exception);
        }
    }

    /// <inheritdoc/>
    /// <remarks>
    /// Full path, length and last-write time (100 ns ticks): <see cref="WriteAsync"/> writes a new file and renames it
    /// over the old one, so a rewrite has a new last-write time unless it lands within the same tick with the same length.
    /// </remarks>
    public Task<string?> GetContentVersionAsync(string path, CancellationToken cancellationToken)
    {
        var file = new FileInfo(Root.Confine(path, "file"));
        if (!file.Exists)
        {
            throw new DatasetException($"file '{path}' does not exist.");
        }

        return Task.FromResult<string?>(string.Create(
            CultureInfo.InvariantCulture, $"file:{file.FullName}|{file.Length}|{file.LastWriteTimeUtc.Ticks}"));
    }

    /// <inheritdoc/>
    public async Task WriteAsync(string path, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
    {
        path = Root.Confine(path, "file");
        var folder = Path.GetDirectoryName(path);
        if (!string.IsNullOrEmpty(folder))
        {
            Directory.CreateDirectory(folder);
        }

        // Write then rename: a crashed writer leaves a temporary file, never a half-written dataset file that a
        // reader would take for a corrupt chunk. The activity that wrote it simply runs again.
        var temporary = path + ".tmp";
        await File.WriteAllBytesAsync(temporary, content, cancellationToken).ConfigureAwait(false);
        File.Move(temporary, path, overwrite: true);
    }

    /// <inheritdoc/>
    public Task<IReadOnlyList<string>> ListFolderAsync(string folder, CancellationToken cancellationToken)
    {
        var full = Root.Confine(folder, "destination");
        if (File.Exists(full))
        {
            throw new DatasetException($"'{folder}' is a file, not a folder.");
        }

        if (!Directory.Exists(full))
        {
            return Task.FromResult<IReadOnlyList<string>>([]);
        }

        var files = Directory.GetFiles(full, "*", SearchOption.TopDirectoryOnly);
        Array.Sort(files, StringComparer.Ordinal);
        return Task.FromResult<IReadOnlyList<string>>(Array.ConvertAll(files, Root.Relative));
    }

    /// <inheritdoc/>
    public Task DeleteAsync(string path, CancellationToken cancellationToken)
    {
        // Confined like every other path: a link that leads out of the root is refused, never followed to delete.
        File.Delete(Root.Confine(path, "file"));
        return Task.CompletedTask;
    }

    /// <inheritdoc/>
    public string Combine(string folder, string name) => Path.Combine(folder, name);

    /// <inheritdoc/>
    public void ValidatePath(string path, string field) => Root.Resolve(path, field);
}
