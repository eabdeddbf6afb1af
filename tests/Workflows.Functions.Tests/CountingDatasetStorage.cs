using System.Collections.Concurrent;
using Workflows.ML.Data;

using Workflows.Testing;
namespace Workflows.Functions.Tests;

/// <summary>
/// Local storage that counts the files it opened, and can hold reads until the caller's token is cancelled (a
/// worker that stops mid-chunk): <c>holdRead(path, timesOpenedBefore)</c> says which. <see cref="FirstHold"/>
/// completes when the first read is held, so a test knows the activity is in flight without sleeping.
/// </summary>
internal sealed class CountingDatasetStorage(Func<string, int, bool>? holdRead = null) : IDatasetStorage
{
    private readonly ConcurrentDictionary<string, int> _opened = new(StringComparer.Ordinal);
    private readonly TaskCompletionSource _firstHold = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task FirstHold => _firstHold.Task;

    /// <summary>Times <paramref name="path"/> (relative to the tests' data root, or absolute inside it) was opened.</summary>
    public int Opened(string path) => _opened.GetValueOrDefault(TestStorage.FullPath(path));

    public Task<IReadOnlyList<string>> ListFilesAsync(string root, string extension, CancellationToken cancellationToken) =>
        TestStorage.Local.ListFilesAsync(root, extension, cancellationToken);

    public async Task<Stream> OpenReadAsync(string path, CancellationToken cancellationToken)
    {
        // The storage names files relative to the data root; the tests know them by their full paths.
        var full = TestStorage.FullPath(path);
        if (holdRead?.Invoke(full, Opened(full)) == true)
        {
            _firstHold.TrySetResult();
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }

        var stream = await TestStorage.Local.OpenReadAsync(path, cancellationToken);
        _opened.AddOrUpdate(full, 1, static (_, count) => count + 1);
        return stream;
    }

    public Task<string?> GetContentVersionAsync(string path, CancellationToken cancellationToken) =>
        TestStorage.Local.GetContentVersionAsync(path, cancellationToken);

    public Task WriteAsync(string path, ReadOnlyMemory<byte> content, CancellationToken cancellationToken) =>
        TestStorage.Local.WriteAsync(path, content, cancellationToken);

    public Task<IReadOnlyList<string>> ListFolderAsync(string folder, CancellationToken cancellationToken) =>
        TestStorage.Local.ListFolderAsync(folder, cancellationToken);

    public Task DeleteAsync(string path, CancellationToken cancellationToken) => TestStorage.Local.DeleteAsync(path, cancellationToken);

    public string Combine(string folder, string name) => TestStorage.Local.Combine(folder, name);

    public void ValidatePath(string path, string field) => TestStorage.Local.ValidatePath(path, field);
}
