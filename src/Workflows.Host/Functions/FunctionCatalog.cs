using Microsoft.DurableTask;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Workflows.Host.Diagnostics;
using Workflows.Host.Hosting;

namespace Workflows.Host.Functions;

/// <summary>The functions of an app, as discovered at start-up.</summary>
internal sealed class FunctionCatalog(IReadOnlyList<FunctionDescriptor> functions)
{
    public IReadOnlyList<FunctionDescriptor> Functions { get; } = functions;

    public IEnumerable<FunctionDescriptor> OfKind(FunctionKind kind) => Functions.Where(f => f.Kind == kind);

    public FunctionDescriptor? Find(string name) =>
        Functions.FirstOrDefault(f => string.Equals(f.Name, name, StringComparison.OrdinalIgnoreCase));

    /// <summary>Registers the orchestrators and activities with the official SDK's registry.</summary>
    public void AddTo(DurableTaskRegistry registry, IServiceProvider? services)
    {
        var metrics = services?.GetService<FunctionMetrics>();
        var stopping = services?.GetService<IHostApplicationLifetime>()?.ApplicationStopping ?? CancellationToken.None;
        foreach (var function in Functions)
        {
            switch (function.Kind)
            {
                case FunctionKind.Orchestrator:
                    registry.AddOrchestrator(function.Name, () => new MeasuredOrchestrator(
                        function.Method is null ? (ITaskOrchestrator)Create(function.ImplementationType, services) : new MethodOrchestrator(function, services),
                        function.Name,
                        metrics));
                    break;
                case FunctionKind.Activity:
                    registry.AddActivity(function.Name, _ => new MeasuredActivity(
                        function.Method is null ? (ITaskActivity)Create(function.ImplementationType, services) : new MethodActivity(function, services, stopping),
                        function.Name,
                        metrics));
                    break;
                default:
                    break;
            }
        }
    }

    private static object Create(Type type, IServiceProvider? services) =>
        services is null ? Activator.CreateInstance(type)! : ActivatorUtilities.CreateInstance(services, type);

    /// <summary>An orchestrator function method seen as the SDK's orchestrator shape.</summary>
    private sealed class MethodOrchestrator(FunctionDescriptor function, IServiceProvider? services) : ITaskOrchestrator
    {
        public Type InputType => function.InputType;

        public Type OutputType => function.OutputType;

        public Task<object?> RunAsync(TaskOrchestrationContext context, object? input) =>
            function.InvokeAsync(new InvocationContext
            {
                FunctionName = function.Name,
                Services = services,
                Orchestration = new FunctionOrchestrationContext(context, input),
                TriggerValue = input,
            });
    }

    /// <summary>Counts and times an orchestrator's executions when the host has metrics.</summary>
    private sealed class MeasuredOrchestrator(ITaskOrchestrator inner, string name, FunctionMetrics? metrics) : ITaskOrchestrator
    {
        public Type InputType => inner.InputType;

        public Type OutputType => inner.OutputType;

        public Task<object?> RunAsync(TaskOrchestrationContext context, object? input) =>
            metrics is null ? inner.RunAsync(context, input) : metrics.MeasureAsync(name, "orchestrationTrigger", () => inner.RunAsync(context, input));
    }

    /// <summary>Counts and times an activity's invocations when the host has metrics.</summary>
    private sealed class MeasuredActivity(ITaskActivity inner, string name, FunctionMetrics? metrics) : ITaskActivity
    {
        public Type InputType => inner.InputType;

        public Type OutputType => inner.OutputType;

        public Task<object?> RunAsync(TaskActivityContext context, object? input) =>
            metrics is null ? inner.RunAsync(context, input) : metrics.MeasureAsync(name, "activityTrigger", () => inner.RunAsync(context, input));
    }

    /// <summary>An activity function method seen as the SDK's activity shape; it is cancelled when the host stops.</summary>
    private sealed class MethodActivity(FunctionDescriptor function, IServiceProvider? services, CancellationToken stopping) : ITaskActivity
    {
        public Type InputType => function.InputType;

        public Type OutputType => function.OutputType;

        public Task<object?> RunAsync(TaskActivityContext context, object? input) =>
            function.InvokeAsync(new InvocationContext
            {
                FunctionName = function.Name,
                Services = services,
                Activity = context,
                CancellationToken = stopping,
                TriggerValue = input,
            });
    }
}
