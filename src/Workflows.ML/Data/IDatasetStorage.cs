namespace Workflows.ML.Data;

/// <summary>
/// Where dataset files live (local disk, Blob storage). Paths are the storage's own: file-system paths for
/// <see cref="LocalDatasetStorage"/>, blob names for Blob storage.
/// </summary>
public interface IDatasetStorage
{
    /// <summary>
    /// The files of a dataset: <paramref name="root"/> itself when it is a file, otherwise the files under it whose
    /// name ends with <paramref name="extension"/>, in ordinal order. Throws <see cref="DatasetException"/> when the
    /// dataset does not exist.
    /// </summary>
    Task<IReadOnlyList<string>> ListFilesAsync(string root, string extension, CancellationToken cancellationToken);

    /// <summary>Opens a file for reading; the stream is seekable (Parquet reads its footer first).</summary>
    Task<Stream> OpenReadAsync(string path, CancellationToken cancellationToken);

    /// <summary>
    /// A string that names the file's current content: where it is (so two storages or folders never share one) and
    /// a version that changes whenever the file is written again (local: full path, length and last-write time; Blob:
    /// container URI, name and ETag). <see langword="null"/> when the storage cannot tell; callers then must not
    /// cache what they decoded from the file. Throws <see cref="DatasetException"/> when the file does not exist.
    /// </summary>
    Task<string?> GetContentVersionAsync(string path, CancellationToken cancellationToken);

    /// <summary>Writes <paramref name="content"/> to <paramref name="path"/>, replacing it, creating folders as needed.</summary>
    Task WriteAsync(string path, ReadOnlyMemory<byte> content, CancellationToken cancellationToken);

    /// <summary>
    /// Every file directly in <paramref name="folder"/> (not in folders under it), in ordinal order; empty when the
    /// folder does not exist. A file at <paramref name="folder"/> itself is refused: it is not a folder.
    /// </summary>
    Task<IReadOnlyList<string>> ListFolderAsync(string folder, CancellationToken cancellationToken);

    /// <summary>Deletes the file <paramref name="path"/>; a file that is not there is no error.</summary>
    Task DeleteAsync(string path, CancellationToken cancellationToken);

    /// <summary>Joins a folder and a file name the way this storage does.</summary>
    string Combine(string folder, string name);

    /// <summary>
    /// Checks a path that a request gave as <paramref name="field"/> by its text alone, with no storage access, so that
    /// orchestrators can refuse it before they schedule any work: it must name something this storage may reach (local:
    /// inside the data root; Blob: a blob name of the container). Throws <see cref="DataPathException"/> naming the
    /// field and the rule.
    /// </summary>
    void ValidatePath(string path, string field);
}
