namespace Workflows.Serving.Routing;

/// <summary>
/// Route tables in the local registry folder, <c>{root}/{name}/routing.json</c>, each written to a temporary file in
/// the same folder and renamed over the old one, so a reader (or a crash) never sees half a table.
/// </summary>
internal sealed class FolderRouteStore(string root) : IRouteStore
{
    public string Describe(string model) => PathOf(model);

    public async Task<RouteTable?> ReadAsync(string model, CancellationToken cancellationToken)
    {
        var path = PathOf(model);
        if (!File.Exists(path))
        {
            return null;
        }

        return RouteDocument.Deserialize(await File.ReadAllBytesAsync(path, cancellationToken).ConfigureAwait(false), path);
    }

    public async Task WriteAsync(string model, RouteTable table, CancellationToken cancellationToken)
    {
        var path = PathOf(model);
        var temporary = Path.Combine(Path.GetDirectoryName(path)!, $".{RouteDocument.FileName}.{Path.GetRandomFileName()}.tmp");
        try
        {
            await File.WriteAllBytesAsync(temporary, RouteDocument.Serialize(table), cancellationToken).ConfigureAwait(false);
            File.Move(temporary, path, overwrite: true);
        }
        finally
        {
            File.Delete(temporary);
        }
    }

    private string PathOf(string model) => Path.Combine(root, model, RouteDocument.FileName);
}
