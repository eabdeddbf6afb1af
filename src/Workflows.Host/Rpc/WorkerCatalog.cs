using System.Text.Json;
using Cronos;
using Microsoft.AspNetCore.Routing.Patterns;

namespace Workflows.Host.Rpc;

/// <summary>What the host does for one of the worker's functions, read from the binding metadata the worker indexed.</summary>
internal abstract record WorkerEntry(WorkerFunction Function)
{
    public string Name => Function.Name;
}

/// <summary>An HTTP function: its route under the host's prefix, its methods (none: all), its key level.</summary>
internal sealed record WorkerHttpEntry(WorkerFunction Function, string RouteTemplate, RoutePattern Route, IReadOnlyList<string> Methods, string AuthLevel) : WorkerEntry(Function);

/// <summary>A timer function: its six-field NCRONTAB schedule (an app setting's value when written <c>%Name%</c>).</summary>
internal sealed record WorkerTimerEntry(WorkerFunction Function, string ScheduleText, CronExpression Schedule, bool RunOnStartup, bool UseMonitor) : WorkerEntry(Function);

/// <summary>An orchestrator or an activity, under the name the task hub knows it by.</summary>
internal sealed record WorkerTaskEntry(WorkerFunction Function, string TaskName, bool IsOrchestrator) : WorkerEntry(Function);

/// <summary>
/// The app's functions as the host serves them, built from the worker's own indexing (no reflection over the app):
/// HTTP routes, timer schedules, orchestrators and activities. Anything the host cannot serve, a malformed route or
/// schedule, or two functions claiming one route or task name, is a <see cref="WorkerStartException"/> naming the
/// function, so a broken app stops at start-up rather than at its first request. An HTTP or timer function that the app
/// setting <c>AzureWebJobs.&lt;name&gt;.Disabled</c> disables (as the Functions host reads it) is left out: no route, no
/// schedule (its schedule setting is not read), only its name in <see cref="Disabled"/>.
/// </summary>
internal sealed class WorkerCatalog
{
    private WorkerCatalog(IReadOnlyList<WorkerEntry> entries, IReadOnlyList<string> disabled)
    {
        Entries = entries;
        Disabled = disabled;
    }

    public IReadOnlyList<WorkerEntry> Entries { get; }

    /// <summary>The HTTP and timer functions that their <c>AzureWebJobs.&lt;name&gt;.Disabled</c> setting turns off.</summary>
    public IReadOnlyList<string> Disabled { get; }

    public IEnumerable<WorkerHttpEntry> Http => Entries.OfType<WorkerHttpEntry>();

    public IEnumerable<WorkerTimerEntry> Timers => Entries.OfType<WorkerTimerEntry>();

    public IEnumerable<WorkerTaskEntry> Orchestrators => Entries.OfType<WorkerTaskEntry>().Where(entry => entry.IsOrchestrator);

    public IEnumerable<WorkerTaskEntry> Activities => Entries.OfType<WorkerTaskEntry>().Where(entry => !entry.IsOrchestrator);

    /// <summary>Builds the catalog; <paramref name="appSetting"/> resolves <c>%Name%</c> schedules and the <c>Disabled</c> settings.</summary>
    public static WorkerCatalog From(IReadOnlyList<WorkerFunction> functions, Func<string, string?> appSetting)
    {
        ArgumentNullException.ThrowIfNull(functions);
        ArgumentNullException.ThrowIfNull(appSetting);
        var problems = new List<string>(WorkerBindings.Unsupported(functions));
        var entries = new List<WorkerEntry>();
        var disabled = new List<string>();
        foreach (var function in functions)
        {
            if (function.Trigger is not { } trigger)
            {
                continue;
            }

            // Orchestrator and activity functions are always served: instances already running must be able to finish.
            if (trigger.Type.ToUpperInvariant() is "HTTPTRIGGER" or "TIMERTRIGGER" && IsDisabled(function.Name, appSetting))
            {
                disabled.Add(function.Name);
                continue;
            }

            try
            {
                using var binding = JsonDocument.Parse(trigger.RawJson);
                var json = binding.RootElement;
                WorkerEntry? entry = trigger.Type.ToUpperInvariant() switch
                {
                    "HTTPTRIGGER" => HttpEntry(function, json),
                    "TIMERTRIGGER" => TimerEntry(function, json, appSetting),
                    "ORCHESTRATIONTRIGGER" => new WorkerTaskEntry(function, TaskName(function, json, "orchestration"), IsOrchestrator: true),
                    "ACTIVITYTRIGGER" => new WorkerTaskEntry(function, TaskName(function, json, "activity"), IsOrchestrator: false),
                    _ => null,
                };
                if (entry is not null)
                {
                    entries.Add(entry);
                }
            }
            catch (FormatException exception)
            {
                problems.Add($"function '{function.Name}': {exception.Message}");
            }
        }

        problems.AddRange(Duplicates(entries.OfType<WorkerHttpEntry>(), entry => entry.RouteTemplate, "route"));
        problems.AddRange(Duplicates(entries.OfType<WorkerTaskEntry>().Where(e => e.IsOrchestrator), entry => entry.TaskName, "orchestrator"));
        problems.AddRange(Duplicates(entries.OfType<WorkerTaskEntry>().Where(e => !e.IsOrchestrator), entry => entry.TaskName, "activity"));
        return problems.Count == 0
            ? new WorkerCatalog(entries, disabled)
            : throw new WorkerStartException("The app's functions cannot be served:" + Environment.NewLine + "  " + string.Join(Environment.NewLine + "  ", problems));
    }

    /// <summary>
    /// The task-hub name of an orchestration or activity function (<paramref name="triggerType"/>): the name its
    /// trigger gives (<c>orchestration</c>, <c>activity</c>), else the function's; null for another trigger.
    /// </summary>
    public static string? TaskNameOf(WorkerFunction function, string triggerType)
    {
        ArgumentNullException.ThrowIfNull(function);
        if (function.Trigger is not { } trigger || !string.Equals(trigger.Type, triggerType, StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        using var binding = JsonDocument.Parse(trigger.RawJson);
        return TaskName(function, binding.RootElement, triggerType.Replace("Trigger", string.Empty, StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>
    /// Whether app setting <c>AzureWebJobs.&lt;name&gt;.Disabled</c> (or <c>AzureWebJobs__&lt;name&gt;__Disabled</c>, the
    /// environment variable form) turns function <paramref name="name"/> off: <c>true</c> (any case) or <c>1</c>.
    /// </summary>
    public static bool IsDisabled(string name, Func<string, string?> appSetting)
    {
        ArgumentNullException.ThrowIfNull(appSetting);
        var value = (appSetting($"AzureWebJobs.{name}.Disabled") ?? appSetting($"AzureWebJobs:{name}:Disabled"))?.Trim();
        return value == "1" || (bool.TryParse(value, out var flag) && flag);
    }

    private static string TaskName(WorkerFunction function, JsonElement json, string nameProperty) => Text(json, nameProperty) ?? function.Name;

    private static WorkerHttpEntry HttpEntry(WorkerFunction function, JsonElement json)
    {
        string template = (Text(json, "route") ?? function.Name).Trim('/');
        RoutePattern route;
        try
        {
            route = RoutePatternFactory.Parse(template);
        }
        catch (RoutePatternException exception)
        {
            throw new FormatException($"route '{template}' is invalid: {exception.Message}", exception);
        }

        var methods = new List<string>();
        if (json.TryGetProperty("methods", out var given) && given.ValueKind == JsonValueKind.Array)
        {
            foreach (var method in given.EnumerateArray())
            {
                string verb = method.GetString() ?? string.Empty;
                methods.Add(verb.Length > 0 && verb.All(char.IsAsciiLetter) ? verb.ToUpperInvariant() : throw new FormatException($"'{verb}' is not an HTTP method."));
            }
        }

        string level = Text(json, "authLevel")?.ToUpperInvariant() switch
        {
            null or "FUNCTION" => "Function",
            "ANONYMOUS" => "Anonymous",
            "ADMIN" => "Admin",
            var other => throw new FormatException($"authLevel '{other}' is not Anonymous, Function or Admin."),
        };
        return new WorkerHttpEntry(function, template, route, methods, level);
    }

    private static WorkerTimerEntry TimerEntry(WorkerFunction function, JsonElement json, Func<string, string?> appSetting)
    {
        string text = Text(json, "schedule")?.Trim() ?? throw new FormatException("the timer trigger has no schedule.");
        if (text.Length > 2 && text.StartsWith('%') && text.EndsWith('%'))
        {
            string setting = text[1..^1];
            text = appSetting(setting)?.Trim() ?? throw new FormatException($"the schedule reads app setting '{setting}', which is not set (set it, or turn the function off with AzureWebJobs.{function.Name}.Disabled=true).");
        }

        CronExpression schedule;
        try
        {
            schedule = CronExpression.Parse(text, CronFormat.IncludeSeconds);
        }
        catch (CronFormatException exception)
        {
            throw new FormatException($"schedule '{text}' is not a six-field NCRONTAB expression (second minute hour day month day-of-week): {exception.Message}", exception);
        }

        return new WorkerTimerEntry(function, text, schedule, Flag(json, "runOnStartup") ?? false, Flag(json, "useMonitor") ?? true);
    }

    private static IEnumerable<string> Duplicates<T>(IEnumerable<T> entries, Func<T, string> key, string what)
        where T : WorkerEntry =>
        entries.GroupBy(key, StringComparer.OrdinalIgnoreCase)
            .Where(group => group.Count() > 1)
            .Select(group => $"{what} '{group.Key}' is claimed by more than one function: {string.Join(", ", group.Select(entry => entry.Name))}");

    private static string? Text(JsonElement json, string name) =>
        json.EnumerateObject().FirstOrDefault(p => string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase)) is { Value.ValueKind: JsonValueKind.String } property
            && property.Value.GetString() is { Length: > 0 } text
            ? text
            : null;

    private static bool? Flag(JsonElement json, string name) =>
        json.EnumerateObject().FirstOrDefault(p => string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase)) is { Value.ValueKind: JsonValueKind.True or JsonValueKind.False } property
            ? property.Value.GetBoolean()
            : null;
}
