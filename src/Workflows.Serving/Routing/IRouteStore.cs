namespace Workflows.Serving.Routing;

/// <summary>
/// Where each model's <see cref="RouteTable"/> is kept between runs of the service: beside the registry, one small JSON
/// document per model (<c>{name}/routing.json</c>), which the registry's own listing ignores.
/// </summary>
internal interface IRouteStore
{
    /// <summary>Where the table of <paramref name="model"/> is kept (for logs).</summary>
    string Describe(string model);

    /// <summary>The stored table, or null when none is stored; throws <see cref="InvalidDataException"/> when the document is unreadable.</summary>
    Task<RouteTable?> ReadAsync(string model, CancellationToken cancellationToken);

    /// <summary>Replaces the stored table as a whole.</summary>
    Task WriteAsync(string model, RouteTable table, CancellationToken cancellationToken);
}
