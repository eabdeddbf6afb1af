namespace Workflows.Durable;

/// <summary>
/// The orchestrators and activities a worker can run, by name (case-insensitive). Class-based registrations use
/// the class name unless a name is given; function-style registrations take a delegate.
/// </summary>
public sealed class DurableTaskRegistry
{
    private readonly Dictionary<string, Func<ITaskOrchestrator>> _orchestrators = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, Func<ITaskActivity>> _activities = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Names of the registered orchestrators.</summary>
    public IReadOnlyCollection<string> OrchestratorNames => _orchestrators.Keys;

    /// <summary>Names of the registered activities.</summary>
    public IReadOnlyCollection<string> ActivityNames => _activities.Keys;

    /// <summary>Registers orchestrator class <typeparamref name="TOrchestrator"/> under its class name.</summary>
    public DurableTaskRegistry AddOrchestrator<TOrchestrator>()
        where TOrchestrator : class, ITaskOrchestrator, new() =>
        AddOrchestrator(typeof(TOrchestrator).Name, static () => new TOrchestrator());

    /// <summary>Registers an orchestrator factory under <paramref name="name"/>; the factory runs once per execution.</summary>
    public DurableTaskRegistry AddOrchestrator(string name, Func<ITaskOrchestrator> factory)
    {
        Add(_orchestrators, "orchestrator", name, factory);
        return this;
    }

    /// <summary>Registers a function-style orchestrator.</summary>
    public DurableTaskRegistry AddOrchestratorFunc<TInput, TOutput>(string name, Func<TaskOrchestrationContext, TInput, Task<TOutput>> implementation)
    {
        ArgumentNullException.ThrowIfNull(implementation);
        return AddOrchestrator(name, () => new FuncOrchestrator<TInput, TOutput>(implementation));
    }

    /// <summary>Registers activity class <typeparamref name="TActivity"/> under its class name.</summary>
    public DurableTaskRegistry AddActivity<TActivity>()
        where TActivity : class, ITaskActivity, new() =>
        AddActivity(typeof(TActivity).Name, static () => new TActivity());

    /// <summary>Registers an activity factory under <paramref name="name"/>; the factory runs once per invocation.</summary>
    public DurableTaskRegistry AddActivity(string name, Func<ITaskActivity> factory)
    {
        Add(_activities, "activity", name, factory);
        return this;
    }

    /// <summary>Registers a function-style asynchronous activity.</summary>
    public DurableTaskRegistry AddActivityFunc<TInput, TOutput>(string name, Func<TaskActivityContext, TInput, Task<TOutput>> implementation)
    {
        ArgumentNullException.ThrowIfNull(implementation);
        var activity = new FuncActivity<TInput, TOutput>(implementation);
        return AddActivity(name, () => activity);
    }

    /// <summary>Registers a function-style synchronous activity.</summary>
    public DurableTaskRegistry AddActivityFunc<TInput, TOutput>(string name, Func<TaskActivityContext, TInput, TOutput> implementation)
    {
        ArgumentNullException.ThrowIfNull(implementation);
        return AddActivityFunc<TInput, TOutput>(name, (context, input) => Task.FromResult(implementation(context, input)));
    }

    internal bool TryCreateOrchestrator(string name, out ITaskOrchestrator? orchestrator)
    {
        orchestrator = _orchestrators.TryGetValue(name, out var factory) ? factory() : null;
        return orchestrator is not null;
    }

    internal bool TryCreateActivity(string name, out ITaskActivity? activity)
    {
        activity = _activities.TryGetValue(name, out var factory) ? factory() : null;
        return activity is not null;
    }

    private static void Add<T>(Dictionary<string, T> map, string kind, string name, T factory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(factory);
        if (!map.TryAdd(name, factory))
        {
            throw new ArgumentException($"An {kind} named '{name}' is already registered.", nameof(name));
        }
    }

    private sealed class FuncOrchestrator<TInput, TOutput>(Func<TaskOrchestrationContext, TInput, Task<TOutput>> implementation)
        : TaskOrchestrator<TInput, TOutput>
    {
        public override Task<TOutput> RunAsync(TaskOrchestrationContext context, TInput input) => implementation(context, input);
    }

    private sealed class FuncActivity<TInput, TOutput>(Func<TaskActivityContext, TInput, Task<TOutput>> implementation)
        : TaskActivity<TInput, TOutput>
    {
        public override Task<TOutput> RunAsync(TaskActivityContext context, TInput input) => implementation(context, input);
    }
}
