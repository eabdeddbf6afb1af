using System.Globalization;

namespace Workflows.ML.Data;

/// <summary>Datasets on the local file system (or a shared mount every worker sees).</summary>
public sealed class LocalDatasetStorage : IDatasetStorage
{
    /// <summary>The shared instance; the class holds no state.</summary>
    public static LocalDatasetStorage Instance { get; } = new();

    /// <inheritdoc/>
    public Task<IReadOnlyList<string>> ListFilesAsync(string root, string extension, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(root);
        if (File.Exists(root))
        {
            return Task.FromResult<IReadOnlyList<string>>([root]);
        }

        if (!Directory.Exists(root))
        {
            throw new DatasetException($"dataset '{root}' does not exist.");
        }

        var files = Directory.GetFiles(root, "*" + extension, SearchOption.TopDirectoryOnly);
        Array.Sort(files, StringComparer.Ordinal);
        return Task.FromResult<IReadOnlyList<string>>(files);
    }

    /// <inheritdoc/>
    public Task<Stream> OpenReadAsync(string path, CancellationToken cancellationToken)
    {
        try
        {
            return Task.FromResult<Stream>(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous));
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
        var file = new FileInfo(path);
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
        var folder = Path.GetDirectoryName(Path.GetFullPath(path));
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
    public string Combine(string folder, string name) => Path.Combine(folder, name);
}
