using System.Collections.Concurrent;
using Workflows.ML.Data;

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

    public int Opened(string path) => _opened.GetValueOrDefault(path);

    public Task<IReadOnlyList<string>> ListFilesAsync(string root, string extension, CancellationToken cancellationToken) =>
        LocalDatasetStorage.Instance.ListFilesAsync(root, extension, cancellationToken);

    public async Task<Stream> OpenReadAsync(string path, CancellationToken cancellationToken)
    {
        if (holdRead?.Invoke(path, Opened(path)) == true)
        {
            _firstHold.TrySetResult();
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }

        var stream = await LocalDatasetStorage.Instance.OpenReadAsync(path, cancellationToken);
        _opened.AddOrUpdate(path, 1, static (_, count) => count + 1);
        return stream;
    }

    public Task<string?> GetContentVersionAsync(string path, CancellationToken cancellationToken) =>
        LocalDatasetStorage.Instance.GetContentVersionAsync(path, cancellationToken);

    public Task WriteAsync(string path, ReadOnlyMemory<byte> content, CancellationToken cancellationToken) =>
        LocalDatasetStorage.Instance.WriteAsync(path, content, cancellationToken);

    public string Combine(string folder, string name) => LocalDatasetStorage.Instance.Combine(folder, name);
}
