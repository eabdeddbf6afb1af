using System.Reflection;
using Cronos;
using Microsoft.AspNetCore.Routing.Patterns;
using Microsoft.Extensions.DependencyInjection;

namespace Workflows.Host.Functions;

/// <summary>One discovered function: what triggers it and how to invoke it.</summary>
internal sealed class FunctionDescriptor
{
    internal FunctionDescriptor(string name, FunctionKind kind, Type implementationType)
    {
        Name = name;
        Kind = kind;
        ImplementationType = implementationType;
    }

    /// <summary>Function name.</summary>
    public string Name { get; }

    /// <summary>Trigger kind.</summary>
    public FunctionKind Kind { get; }

    /// <summary>The class declaring the method, or the <c>[DurableTask]</c> class.</summary>
    public Type ImplementationType { get; }

    /// <summary>The <c>[Function]</c> method; null for a <c>[DurableTask]</c> class.</summary>
    public MethodInfo? Method { get; internal init; }

    /// <summary>HTTP trigger settings of an HTTP function.</summary>
    public HttpTriggerAttribute? HttpTrigger { get; internal init; }

    /// <summary>Route template below the route prefix (the function name when the trigger sets none).</summary>
    public string? RouteTemplate { get; internal init; }

    /// <summary>HTTP methods, upper case; empty means all.</summary>
    public IReadOnlyList<string> HttpMethods { get; internal init; } = [];

    /// <summary>Timer trigger settings of a timer function.</summary>
    public TimerTriggerAttribute? TimerTrigger { get; internal init; }

    /// <summary>The resolved NCRONTAB schedule text (after <c>%Setting%</c> substitution).</summary>
    public string? ScheduleText { get; internal init; }

    internal CronExpression? Schedule { get; init; }

    internal RoutePattern? Route { get; init; }

    /// <summary>Input type of an orchestrator or activity method (typeof(object) when it declares none).</summary>
    internal Type InputType { get; init; } = typeof(object);

    /// <summary>What the method's result is (a task's result type); <see cref="object"/> when it returns nothing.</summary>
    internal Type OutputType
    {
        get
        {
            var returned = Method?.ReturnType ?? typeof(object);
            if (returned.IsGenericType && (returned.GetGenericTypeDefinition() == typeof(Task<>) || returned.GetGenericTypeDefinition() == typeof(ValueTask<>)))
            {
                return returned.GetGenericArguments()[0];
            }

            return ReturnsValue ? returned : typeof(object);
        }
    }

    internal IReadOnlyList<Func<InvocationContext, object?>> Bindings { get; init; } = [];

    internal bool ReturnsValue { get; init; }

    /// <summary>Invokes the method with its parameters bound from <paramref name="context"/>; awaits what it returns.</summary>
    internal async Task<object?> InvokeAsync(InvocationContext context)
    {
        var method = Method ?? throw new InvalidOperationException($"Function '{Name}' is a class, not a method.");
        object? target = null;
        if (!method.IsStatic)
        {
            target = context.Services is null
                ? Activator.CreateInstance(ImplementationType)
                : ActivatorUtilities.CreateInstance(context.Services, ImplementationType);
        }

        var arguments = new object?[Bindings.Count];
        for (var i = 0; i < arguments.Length; i++)
        {
            arguments[i] = Bindings[i](context);
        }

        try
        {
            var returned = method.Invoke(target, BindingFlags.DoNotWrapExceptions, binder: null, arguments, culture: null);
            return await AwaitAsync(returned);
        }
        finally
        {
            // Instance methods' classes may hold resources; a function instance lives for one invocation.
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

    private async Task<object?> AwaitAsync(object? returned)
    {
        if (returned is ValueTask valueTask)
        {
            await valueTask;
            return null;
        }

        if (returned is not null && returned.GetType() is { IsGenericType: true } type && type.GetGenericTypeDefinition() == typeof(ValueTask<>))
        {
            returned = type.GetMethod(nameof(ValueTask<int>.AsTask))!.Invoke(returned, null);
        }

        if (returned is Task task)
        {
            // Default await: orchestrator code continues on the orchestration's own scheduler.
            await task;
            return ReturnsValue ? task.GetType().GetProperty(nameof(Task<int>.Result))!.GetValue(task) : null;
        }

        return returned;
    }
}
