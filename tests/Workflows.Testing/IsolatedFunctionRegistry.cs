using System.Reflection;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Extensions.Abstractions;
using Microsoft.DurableTask;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Workflows.Testing;

/// <summary>
/// Runs an isolated-worker app's orchestrator and activity functions in process, on the engine, for tests and
/// benchmarks: fills a <see cref="DurableTaskRegistry"/> from the official attributes of an assembly, with no
/// Functions host and no worker process.
/// </summary>
public static class IsolatedFunctionRegistry
{
    private const BindingFlags AllMethods = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static | BindingFlags.Instance | BindingFlags.DeclaredOnly;

    /// <summary>
    /// Registers each <c>[Function]</c> method of <paramref name="assembly"/> whose trigger is
    /// <c>[OrchestrationTrigger] TaskOrchestrationContext</c> as an orchestrator and each one whose trigger is
    /// <c>[ActivityTrigger]</c> as an activity, under the function's name; HTTP, timer and other functions are left
    /// out. Besides the trigger, a function may take <see cref="FunctionContext"/> (a <see cref="TestFunctionContext"/>
    /// over <paramref name="services"/>) and <see cref="CancellationToken"/>, and an activity <c>string instanceId</c>
    /// (the calling instance). An instance method's class is created from <paramref name="services"/> for each
    /// invocation (and disposed after it), as the worker does.
    /// </summary>
    /// <exception cref="NotSupportedException">A function takes a parameter that cannot be bound in process; the message names it.</exception>
    public static DurableTaskRegistry AddFunctions(this DurableTaskRegistry registry, Assembly assembly, IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(registry);
        ArgumentNullException.ThrowIfNull(assembly);
        ArgumentNullException.ThrowIfNull(services);
        var stopping = services.GetService<IHostApplicationLifetime>()?.ApplicationStopping ?? CancellationToken.None;
        foreach (var type in assembly.GetTypes())
        {
            foreach (var method in type.GetMethods(AllMethods))
            {
                if (method.GetCustomAttribute<FunctionAttribute>() is not { } function)
                {
                    continue;
                }

                var parameters = method.GetParameters();
                if (parameters.Any(static p => p.GetCustomAttribute<OrchestrationTriggerAttribute>() is not null))
                {
                    var invoker = new FunctionInvoker(function.Name, method, services, orchestrator: true);
                    registry.AddOrchestrator(function.Name, () => new MethodOrchestrator(invoker));
                }
                else if (parameters.Any(static p => p.GetCustomAttribute<ActivityTriggerAttribute>() is not null))
                {
                    var invoker = new FunctionInvoker(function.Name, method, services, orchestrator: false);
                    registry.AddActivity(function.Name, _ => new MethodActivity(invoker, stopping));
                }
            }
        }

        return registry;
    }

    /// <summary>An orchestrator function; it reads its input (JSON to the engine) from the context, as official orchestrator functions do.</summary>
    private sealed class MethodOrchestrator(FunctionInvoker invoker) : ITaskOrchestrator
    {
        public Type InputType => typeof(object);

        public Type OutputType => invoker.OutputType;

        public Task<object?> RunAsync(TaskOrchestrationContext context, object? input) =>
            invoker.InvokeAsync(new Invocation(new InputConvertingOrchestrationContext(context, input), Input: null, context.InstanceId, CancellationToken.None));
    }

    /// <summary>An activity function; it is cancelled when the services' host stops.</summary>
    private sealed class MethodActivity(FunctionInvoker invoker, CancellationToken stopping) : ITaskActivity
    {
        public Type InputType => invoker.InputType;

        public Type OutputType => invoker.OutputType;

        public Task<object?> RunAsync(TaskActivityContext context, object? input) =>
            invoker.InvokeAsync(new Invocation(context, input, context.InstanceId, stopping));
    }

    private sealed record Invocation(object Context, object? Input, string InstanceId, CancellationToken CancellationToken);

    /// <summary>One function method with its parameters bound once, when it is registered.</summary>
    private sealed class FunctionInvoker
    {
        private readonly string _name;
        private readonly MethodInfo _method;
        private readonly IServiceProvider _services;
        private readonly Func<Invocation, FunctionContext, object?>[] _bindings;

        public FunctionInvoker(string name, MethodInfo method, IServiceProvider services, bool orchestrator)
        {
            _name = name;
            _method = method;
            _services = services;
            var where = $"Function '{name}' ({method.DeclaringType!.FullName}.{method.Name})";
            if (method.IsGenericMethodDefinition || (!method.IsStatic && method.DeclaringType!.IsAbstract))
            {
                throw new NotSupportedException($"{where} must be a non-generic method of a concrete class.");
            }

            _bindings = [.. method.GetParameters().Select(p => Bind(p, orchestrator, where))];
            OutputType = Unwrapped(method.ReturnType);
        }

        public Type InputType { get; private set; } = typeof(object);

        public Type OutputType { get; }

        public async Task<object?> InvokeAsync(Invocation invocation)
        {
            var target = _method.IsStatic ? null : ActivatorUtilities.CreateInstance(_services, _method.DeclaringType!);
            try
            {
                var functionContext = new TestFunctionContext(_name, _services, invocation.CancellationToken);
                var arguments = _bindings.Select(bind => bind(invocation, functionContext)).ToArray();
                var returned = _method.Invoke(target, BindingFlags.DoNotWrapExceptions, binder: null, arguments, culture: null);
                return await AwaitAsync(returned, _method.ReturnType);
            }
            finally
            {
                if (target is IAsyncDisposable asyncDisposable)
                {
                    await asyncDisposable.DisposeAsync();
                }
                else if (target is IDisposable disposable)
                {
                    disposable.Dispose();
                }
            }
        }

        private Func<Invocation, FunctionContext, object?> Bind(ParameterInfo parameter, bool orchestrator, string where)
        {
            var type = parameter.ParameterType;
            if (parameter.GetCustomAttribute<OrchestrationTriggerAttribute>() is not null)
            {
                return type == typeof(TaskOrchestrationContext)
                    ? static (invocation, _) => invocation.Context
                    : throw new NotSupportedException($"{where}: the [OrchestrationTrigger] parameter must be TaskOrchestrationContext, not {type.Name}.");
            }

            if (parameter.GetCustomAttribute<ActivityTriggerAttribute>() is not null)
            {
                InputType = type;
                return static (invocation, _) => invocation.Input;
            }

            if (type == typeof(FunctionContext))
            {
                return static (_, functionContext) => functionContext;
            }

            if (type == typeof(CancellationToken))
            {
                return static (invocation, _) => invocation.CancellationToken;
            }

            if (!orchestrator && type == typeof(string) && string.Equals(parameter.Name, "instanceId", StringComparison.OrdinalIgnoreCase))
            {
                return static (invocation, _) => invocation.InstanceId;
            }

            var binding = parameter.GetCustomAttributes().FirstOrDefault(static a => a is BindingAttribute)?.GetType().Name ?? "no binding attribute";
            throw new NotSupportedException(
                $"{where}: parameter '{parameter.Name}' ({type.Name}, {binding}) cannot be bound in process; an orchestrator or activity function may take its trigger, FunctionContext and CancellationToken, and an activity 'string instanceId'.");
        }

        private static Type Unwrapped(Type returnType)
        {
            if (returnType.IsGenericType && (returnType.GetGenericTypeDefinition() == typeof(Task<>) || returnType.GetGenericTypeDefinition() == typeof(ValueTask<>)))
            {
                return returnType.GetGenericArguments()[0];
            }

            return returnType == typeof(void) || returnType == typeof(Task) || returnType == typeof(ValueTask) ? typeof(object) : returnType;
        }

        private static async Task<object?> AwaitAsync(object? returned, Type returnType)
        {
            if (returned is ValueTask valueTask)
            {
                await valueTask;
                return null;
            }

            if (returnType.IsGenericType && returnType.GetGenericTypeDefinition() == typeof(ValueTask<>))
            {
                returned = returnType.GetMethod(nameof(ValueTask<>.AsTask))!.Invoke(returned, null);
                returnType = typeof(Task<>).MakeGenericType(returnType.GetGenericArguments());
            }

            if (returned is not Task task)
            {
                return returned;
            }

            await task;
            return returnType.IsGenericType ? returnType.GetProperty(nameof(Task<>.Result))!.GetValue(task) : null;
        }
    }
}
