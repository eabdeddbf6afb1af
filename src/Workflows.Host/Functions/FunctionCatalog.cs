using Microsoft.Extensions.DependencyInjection;
using Workflows.Durable;

namespace Workflows.Host;

/// <summary>The functions of an app, as discovered at start-up.</summary>
internal sealed class FunctionCatalog(IReadOnlyList<FunctionDescriptor> functions)
{
    public IReadOnlyList<FunctionDescriptor> Functions { get; } = functions;

    public IEnumerable<FunctionDescriptor> OfKind(FunctionKind kind) => Functions.Where(f => f.Kind == kind);

    public FunctionDescriptor? Find(string name) =>
        Functions.FirstOrDefault(f => string.Equals(f.Name, name, StringComparison.OrdinalIgnoreCase));

    /// <summary>Registers the orchestrators and activities with the engine's registry.</summary>
    public void AddTo(DurableTaskRegistry registry, IServiceProvider? services)
    {
        foreach (var function in Functions)
        {
            switch (function.Kind)
            {
                case FunctionKind.Orchestrator when function.Method is null:
                    registry.AddOrchestrator(function.Name, () => (ITaskOrchestrator)Create(function.ImplementationType, services));
                    break;
                case FunctionKind.Orchestrator:
                    registry.AddOrchestrator(function.Name, () => new MethodOrchestrator(function, services));
                    break;
                case FunctionKind.Activity when function.Method is null:
                    registry.AddActivity(function.Name, () => (ITaskActivity)Create(function.ImplementationType, services));
                    break;
                case FunctionKind.Activity:
                    registry.AddActivity(function.Name, () => new MethodActivity(function, services));
                    break;
                default:
                    break;
            }
        }
    }

    private static object Create(Type type, IServiceProvider? services) =>
        services is null ? Activator.CreateInstance(type)! : ActivatorUtilities.CreateInstance(services, type);

    /// <summary>An orchestrator function method seen as the engine's orchestrator shape.</summary>
    private sealed class MethodOrchestrator(FunctionDescriptor function, IServiceProvider? services) : ITaskOrchestrator
    {
        public Type InputType => function.InputType;

        public Task<object?> RunAsync(TaskOrchestrationContext context, object? input) =>
            function.InvokeAsync(new InvocationContext { FunctionName = function.Name, Services = services, Orchestration = context, TriggerValue = input });
    }

    /// <summary>An activity function method seen as the engine's activity shape.</summary>
    private sealed class MethodActivity(FunctionDescriptor function, IServiceProvider? services) : ITaskActivity
    {
        public Type InputType => function.InputType;

        public Task<object?> RunAsync(TaskActivityContext context, object? input) =>
            function.InvokeAsync(new InvocationContext
            {
                FunctionName = function.Name,
                Services = services,
                Activity = context,
                CancellationToken = context.CancellationToken,
                TriggerValue = input,
            });
    }
}
