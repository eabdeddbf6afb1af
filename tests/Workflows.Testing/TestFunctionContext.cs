using Microsoft.Azure.Functions.Worker;

namespace Workflows.Testing;

/// <summary>
/// The <see cref="FunctionContext"/> an isolated-worker function gets when tests invoke it in process
/// (<see cref="IsolatedFunctionRegistry"/>): the invocation's services and cancellation token. What only a worker
/// process has (binding context, trace and retry context, function definition, features) is not supported.
/// </summary>
public sealed class TestFunctionContext(string functionName, IServiceProvider services, CancellationToken cancellationToken) : FunctionContext
{
    /// <summary>The invoked function's name.</summary>
    public string FunctionName { get; } = functionName;

    /// <inheritdoc />
    public override string InvocationId { get; } = Guid.NewGuid().ToString("N");

    /// <inheritdoc />
    public override string FunctionId => FunctionName;

    /// <inheritdoc />
    public override IServiceProvider InstanceServices { get; set; } = services;

    /// <inheritdoc />
    public override CancellationToken CancellationToken { get; } = cancellationToken;

    /// <inheritdoc />
    public override IDictionary<object, object> Items { get; set; } = new Dictionary<object, object>();

    /// <inheritdoc />
    public override TraceContext TraceContext => throw NotInProcess(nameof(TraceContext));

    /// <inheritdoc />
    public override BindingContext BindingContext => throw NotInProcess(nameof(BindingContext));

    /// <inheritdoc />
    public override RetryContext RetryContext => throw NotInProcess(nameof(RetryContext));

    /// <inheritdoc />
    public override FunctionDefinition FunctionDefinition => throw NotInProcess(nameof(FunctionDefinition));

    /// <inheritdoc />
    public override IInvocationFeatures Features => throw NotInProcess(nameof(Features));

    private NotSupportedException NotInProcess(string member) =>
        new($"Function '{FunctionName}' used FunctionContext.{member}, which functions invoked in process by tests do not have.");
}
