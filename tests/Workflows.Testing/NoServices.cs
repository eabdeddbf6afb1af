namespace Workflows.Testing;

/// <summary>A service provider that has nothing: for registry factories of types without dependencies.</summary>
public sealed class NoServices : IServiceProvider
{
    public static readonly NoServices Instance = new();

    private NoServices()
    {
    }

    public object? GetService(Type serviceType) => null;
}
