namespace Workflows.Host.Functions;

/// <summary>
/// Binds an <see cref="Microsoft.AspNetCore.Http.HttpRequest"/> (or <see cref="Microsoft.AspNetCore.Http.HttpContext"/>)
/// parameter to HTTP requests on <c>/{routePrefix}/{Route}</c>; the route defaults to the function name.
/// </summary>
[AttributeUsage(AttributeTargets.Parameter, AllowMultiple = false, Inherited = false)]
public sealed class HttpTriggerAttribute : Attribute
{
    /// <summary>Anonymous access for the given methods (all methods when none).</summary>
    public HttpTriggerAttribute(params string[] methods)
        : this(AuthorizationLevel.Anonymous, methods)
    {
    }

    /// <summary>Access at <paramref name="authLevel"/> for the given methods (all methods when none).</summary>
    public HttpTriggerAttribute(AuthorizationLevel authLevel, params string[] methods)
    {
        AuthLevel = authLevel;
        Methods = methods ?? [];
    }

    /// <summary>Key needed to call the function.</summary>
    public AuthorizationLevel AuthLevel { get; }

    /// <summary>HTTP methods; empty means all.</summary>
    public IReadOnlyList<string> Methods { get; }

    /// <summary>ASP.NET Core route template below the route prefix; null means the function name.</summary>
    public string? Route { get; set; }
}
