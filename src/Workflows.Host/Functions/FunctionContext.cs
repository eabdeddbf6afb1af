using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Workflows.Host.Functions;

/// <summary>
/// The invocation a function runs in, as the isolated worker's <c>FunctionContext</c>: its name and id, the
/// services, the cancellation token, and loggers.
/// </summary>
public sealed class FunctionContext
{
    internal FunctionContext(string functionName, IServiceProvider? services, CancellationToken cancellationToken)
    {
        FunctionName = functionName;
        InstanceServices = services ?? EmptyServices.Instance;
        CancellationToken = cancellationToken;
    }

    /// <summary>Name of the function being invoked.</summary>
    public string FunctionName { get; }

    /// <summary>Unique id of this invocation.</summary>
    public string InvocationId { get; } = Guid.NewGuid().ToString("N");

    /// <summary>Services of the invocation (the request's scope for HTTP functions).</summary>
    public IServiceProvider InstanceServices { get; }

    /// <summary>Cancelled when the host stops, the caller goes away or <c>functionTimeout</c> passes.</summary>
    public CancellationToken CancellationToken { get; }

    /// <summary>A logger of <paramref name="categoryName"/>.</summary>
    public ILogger GetLogger(string categoryName) =>
        (InstanceServices.GetService<ILoggerFactory>() ?? NullLoggerFactory.Instance).CreateLogger(categoryName);

    /// <summary>A logger named after <typeparamref name="T"/>.</summary>
    public ILogger<T> GetLogger<T>() =>
        (InstanceServices.GetService<ILoggerFactory>() ?? NullLoggerFactory.Instance).CreateLogger<T>();

    private sealed class EmptyServices : IServiceProvider
    {
        public static readonly EmptyServices Instance = new();

        public object? GetService(Type serviceType) => null;
    }
}
