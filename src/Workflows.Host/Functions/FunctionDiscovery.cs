using System.ComponentModel;
using System.Globalization;
using System.Reflection;
using Cronos;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing.Patterns;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;

namespace Workflows.Host.Functions;

/// <summary>
/// Finds the functions of an assembly by reflection at start-up: <c>[Function]</c> methods by their trigger
/// parameter, and <c>[DurableTask]</c> orchestrator and activity classes. Every problem is reported before the
/// host serves anything, naming the function.
/// </summary>
internal static class FunctionDiscovery
{
    private const BindingFlags AllMethods = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static | BindingFlags.Instance | BindingFlags.DeclaredOnly;

    /// <summary>Indexes <paramref name="assembly"/>; <paramref name="appSetting"/> resolves <c>%Name%</c> schedules.</summary>
    public static FunctionCatalog Discover(Assembly assembly, Func<string, string?>? appSetting = null)
    {
        ArgumentNullException.ThrowIfNull(assembly);
        return Discover(assembly.GetTypes(), appSetting);
    }

    /// <summary>Indexes the given types (tests index a few at a time).</summary>
    public static FunctionCatalog Discover(IEnumerable<Type> types, Func<string, string?>? appSetting = null)
    {
        ArgumentNullException.ThrowIfNull(types);
        appSetting ??= static _ => null;
        var functions = new List<FunctionDescriptor>();
        var names = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var type in types.OrderBy(static t => t.FullName, StringComparer.Ordinal))
        {
            if (type.GetCustomAttribute<DurableTaskAttribute>() is { } durableTask)
            {
                Add(functions, names, FromDurableTaskClass(type, durableTask), type.FullName!);
            }

            foreach (var method in type.GetMethods(AllMethods))
            {
                if (method.GetCustomAttribute<FunctionAttribute>() is { } function)
                {
                    Add(functions, names, FromMethod(method, function.Name, appSetting), $"{type.FullName}.{method.Name}");
                }
            }
        }

        return new FunctionCatalog(functions);
    }

    private static void Add(List<FunctionDescriptor> functions, Dictionary<string, string> names, FunctionDescriptor function, string where)
    {
        if (!names.TryAdd(function.Name, where))
        {
            throw Malformed(function.Name, where, $"the name is already used by {names[function.Name]}; function names must be unique (case-insensitive).");
        }

        functions.Add(function);
    }

    private static FunctionDescriptor FromDurableTaskClass(Type type, DurableTaskAttribute attribute)
    {
        var name = string.IsNullOrEmpty(attribute.Name.Name) ? type.Name : attribute.Name.Name;
        CheckName(name, type.FullName!);
        if (type.IsAbstract || type.GetConstructors().Length == 0)
        {
            throw Malformed(name, type.FullName!, $"a [DurableTask] class must be a concrete class with a public constructor.");
        }

        if (typeof(ITaskOrchestrator).IsAssignableFrom(type))
        {
            return new FunctionDescriptor(name, FunctionKind.Orchestrator, type);
        }

        if (typeof(ITaskActivity).IsAssignableFrom(type))
        {
            return new FunctionDescriptor(name, FunctionKind.Activity, type);
        }

        throw Malformed(name, type.FullName!, $"a [DurableTask] class must derive from TaskOrchestrator<TInput, TOutput> or TaskActivity<TInput, TOutput>.");
    }

    private static FunctionDescriptor FromMethod(MethodInfo method, string name, Func<string, string?> appSetting)
    {
        var where = $"{method.DeclaringType!.FullName}.{method.Name}";
        CheckName(name, where);
        var parameters = method.GetParameters();
        var triggers = parameters.Where(static p => TriggerOf(p) is not null).ToArray();
        if (triggers.Length != 1)
        {
            throw Malformed(
                name,
                where,
                $"needs exactly one trigger parameter ([HttpTrigger], [TimerTrigger], [OrchestrationTrigger] or [ActivityTrigger]); found {triggers.Length}.");
        }

        if (method.IsGenericMethodDefinition || (!method.IsStatic && method.DeclaringType!.IsAbstract))
        {
            throw Malformed(name, where, $"must be a non-generic method of a concrete class.");
        }

        var returnsValue = ReturnsValue(method.ReturnType);
        var trigger = TriggerOf(triggers[0])!;
        return trigger switch
        {
            HttpTriggerAttribute http => HttpFunction(method, name, where, http, parameters, returnsValue),
            TimerTriggerAttribute timer => TimerFunction(method, name, where, timer, parameters, appSetting, returnsValue),
            OrchestrationTriggerAttribute => OrchestratorFunction(method, name, where, parameters, returnsValue),
            _ => ActivityFunction(method, name, where, triggers[0], parameters, returnsValue),
        };
    }

    private static FunctionDescriptor HttpFunction(MethodInfo method, string name, string where, HttpTriggerAttribute http, ParameterInfo[] parameters, bool returnsValue)
    {
        var template = (http.Route ?? name).Trim('/');
        RoutePattern route;
        try
        {
            route = RoutePatternFactory.Parse(template);
        }
        catch (RoutePatternException exception)
        {
            throw Malformed(name, where, $"route '{http.Route}' is invalid: {exception.Message}", exception);
        }

        var methods = new List<string>();
        foreach (var verb in http.Methods)
        {
            if (string.IsNullOrWhiteSpace(verb) || !verb.All(char.IsAsciiLetter))
            {
                throw Malformed(name, where, $"'{verb}' is not an HTTP method.");
            }

            methods.Add(verb.ToUpperInvariant());
        }

        var bindings = Bind(name, where, parameters, p =>
        {
            if (p.GetCustomAttribute<HttpTriggerAttribute>() is not null)
            {
                if (p.ParameterType == typeof(HttpRequest))
                {
                    return static c => c.Http!.Request;
                }

                if (p.ParameterType == typeof(HttpContext))
                {
                    return static c => c.Http;
                }

                throw Malformed(name, where, $"the [HttpTrigger] parameter must be HttpRequest or HttpContext, not {p.ParameterType.Name}.");
            }

            if (IsRouteValueType(p.ParameterType))
            {
                if (route.GetParameter(p.Name!) is null)
                {
                    throw Malformed(name, where, $"parameter '{p.Name}' is not a parameter of route '{template}'.");
                }

                return RouteValue(p);
            }

            return null;
        });
        return new FunctionDescriptor(name, FunctionKind.Http, method.DeclaringType!)
        {
            Method = method,
            HttpTrigger = http,
            RouteTemplate = template,
            Route = route,
            HttpMethods = methods,
            Bindings = bindings,
            ReturnsValue = returnsValue,
        };
    }

    private static FunctionDescriptor TimerFunction(
        MethodInfo method, string name, string where, TimerTriggerAttribute timer, ParameterInfo[] parameters, Func<string, string?> appSetting, bool returnsValue)
    {
        var text = timer.Schedule?.Trim() ?? string.Empty;
        if (text.Length > 2 && text.StartsWith('%') && text.EndsWith('%'))
        {
            var setting = text[1..^1];
            text = appSetting(setting)?.Trim()
                ?? throw Malformed(name, where, $"the schedule reads app setting '{setting}', which is not set.");
        }

        CronExpression schedule;
        try
        {
            schedule = CronExpression.Parse(text, CronFormat.IncludeSeconds);
        }
        catch (CronFormatException exception)
        {
            throw Malformed(
                name,
                where,
                $"schedule '{text}' is not a six-field NCRONTAB expression (second minute hour day month day-of-week): {exception.Message}", exception);
        }

        var bindings = Bind(name, where, parameters, p => p.GetCustomAttribute<TimerTriggerAttribute>() is null
            ? null
            : p.ParameterType == typeof(TimerInfo)
                ? static c => c.TriggerValue
                : throw Malformed(name, where, $"the [TimerTrigger] parameter must be TimerInfo, not {p.ParameterType.Name}."));
        return new FunctionDescriptor(name, FunctionKind.Timer, method.DeclaringType!)
        {
            Method = method,
            TimerTrigger = timer,
            ScheduleText = text,
            Schedule = schedule,
            Bindings = bindings,
            ReturnsValue = returnsValue,
        };
    }

    private static FunctionDescriptor OrchestratorFunction(MethodInfo method, string name, string where, ParameterInfo[] parameters, bool returnsValue)
    {
        var inputType = typeof(object);
        var bindings = Bind(name, where, parameters, p =>
        {
            if (p.GetCustomAttribute<OrchestrationTriggerAttribute>() is not null)
            {
                return p.ParameterType == typeof(TaskOrchestrationContext)
                    ? static c => c.Orchestration
                    : throw Malformed(name, where, $"the [OrchestrationTrigger] parameter must be TaskOrchestrationContext, not {p.ParameterType.Name}.");
            }

            if (p.ParameterType == typeof(ILogger))
            {
                // Orchestrator code replays: only the replay-safe logger writes each line once.
                return c => c.Orchestration!.CreateReplaySafeLogger("Function." + name);
            }

            // Orchestrators must not use services (I/O is not deterministic): any other parameter is the input.
            if (inputType != typeof(object))
            {
                throw Malformed(name, where, $"an orchestrator takes the context and at most one input parameter; '{p.Name}' is one too many.");
            }

            inputType = p.ParameterType;
            return static c => c.TriggerValue;
        });
        return new FunctionDescriptor(name, FunctionKind.Orchestrator, method.DeclaringType!)
        {
            Method = method,
            InputType = inputType,
            Bindings = bindings,
            ReturnsValue = returnsValue,
        };
    }

    private static FunctionDescriptor ActivityFunction(MethodInfo method, string name, string where, ParameterInfo trigger, ParameterInfo[] parameters, bool returnsValue)
    {
        var bindings = Bind(name, where, parameters, p => p.GetCustomAttribute<ActivityTriggerAttribute>() is null ? null : static c => c.TriggerValue);
        return new FunctionDescriptor(name, FunctionKind.Activity, method.DeclaringType!)
        {
            Method = method,
            InputType = trigger.ParameterType,
            Bindings = bindings,
            ReturnsValue = returnsValue,
        };
    }

    /// <summary>
    /// Binds each parameter: first by the trigger-specific rule, then the ones every function may take
    /// (durable client, cancellation token, logger, activity context), and anything else from DI.
    /// </summary>
    private static List<Func<InvocationContext, object?>> Bind(
        string name, string where, ParameterInfo[] parameters, Func<ParameterInfo, Func<InvocationContext, object?>?> specific)
    {
        var bindings = new List<Func<InvocationContext, object?>>(parameters.Length);
        foreach (var parameter in parameters)
        {
            if (parameter.ParameterType.IsByRef)
            {
                throw Malformed(name, where, $"parameter '{parameter.Name}' is by-reference, which functions cannot take.");
            }

            var binding = specific(parameter) ?? Common(name, where, parameter);
            bindings.Add(binding);
        }

        return bindings;
    }

    private static Func<InvocationContext, object?> Common(string name, string where, ParameterInfo parameter)
    {
        var type = parameter.ParameterType;
        if (parameter.GetCustomAttribute<DurableClientAttribute>() is not null)
        {
            return type == typeof(DurableTaskClient)
                ? static c => Services(c).GetRequiredService<DurableTaskClient>()
                : throw Malformed(name, where, $"the [DurableClient] parameter must be DurableTaskClient, not {type.Name}.");
        }

        if (type == typeof(CancellationToken))
        {
            return static c => c.CancellationToken;
        }

        if (type == typeof(TaskActivityContext))
        {
            return static c => c.Activity;
        }

        if (type == typeof(FunctionContext))
        {
            return static c => new FunctionContext(c.FunctionName, c.Services, c.CancellationToken);
        }

        if (type == typeof(ILogger))
        {
            return c => (c.Services?.GetService<ILoggerFactory>() ?? NullLoggerFactory.Instance).CreateLogger("Function." + name);
        }

        if (TriggerOf(parameter) is not null || parameter.GetCustomAttribute<OrchestrationTriggerAttribute>() is not null)
        {
            throw Malformed(name, where, $"parameter '{parameter.Name}' has a trigger that does not match the function's trigger.");
        }

        // An optional service parameter (= null) binds to null when the service is not registered.
        return parameter.HasDefaultValue && parameter.DefaultValue is null
            ? c => Services(c).GetService(type)
            : c => Services(c).GetRequiredService(type);
    }

    private static IServiceProvider Services(InvocationContext context) =>
        context.Services ?? throw new InvalidOperationException($"Function '{context.FunctionName}' needs services, but it was invoked without a service provider.");

    private static Attribute? TriggerOf(ParameterInfo parameter) =>
        (Attribute?)parameter.GetCustomAttribute<HttpTriggerAttribute>()
        ?? (Attribute?)parameter.GetCustomAttribute<TimerTriggerAttribute>()
        ?? (Attribute?)parameter.GetCustomAttribute<OrchestrationTriggerAttribute>()
        ?? parameter.GetCustomAttribute<ActivityTriggerAttribute>();

    private static bool ReturnsValue(Type returnType) =>
        returnType != typeof(void) && returnType != typeof(Task) && returnType != typeof(ValueTask);

    private static bool IsRouteValueType(Type type)
    {
        var underlying = Nullable.GetUnderlyingType(type) ?? type;
        return underlying == typeof(string) || underlying.IsPrimitive || underlying == typeof(Guid) || underlying == typeof(decimal) || underlying == typeof(DateTime);
    }

    private static Func<InvocationContext, object?> RouteValue(ParameterInfo parameter)
    {
        var type = parameter.ParameterType;
        var converter = TypeDescriptor.GetConverter(Nullable.GetUnderlyingType(type) ?? type);
        var name = parameter.Name!;
        return c =>
        {
            var raw = c.Http!.Request.RouteValues.TryGetValue(name, out var value) ? Convert.ToString(value, CultureInfo.InvariantCulture) : null;
            if (string.IsNullOrEmpty(raw))
            {
                return type == typeof(string) || Nullable.GetUnderlyingType(type) is not null ? null : Activator.CreateInstance(type);
            }

            try
            {
                return converter.ConvertFromInvariantString(raw);
            }
            catch (Exception exception) when (exception is FormatException or NotSupportedException or ArgumentException)
            {
                throw new BadHttpRequestException($"Route value '{name}' = '{raw}' is not a valid {type.Name}.", StatusCodes.Status400BadRequest, exception);
            }
        };
    }

    private static FunctionIndexingException Malformed(string name, string where, string problem, Exception? cause = null) =>
        cause is null
            ? new FunctionIndexingException($"Function '{name}' ({where}): {problem}")
            : new FunctionIndexingException($"Function '{name}' ({where}): {problem}", cause);

    private static void CheckName(string name, string where)
    {
        if (string.IsNullOrWhiteSpace(name) || name.Length > 128 || !char.IsAsciiLetter(name[0]) || !name.All(static c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-'))
        {
            throw Malformed(
                name,
                where,
                $"a function name must start with a letter and hold only letters, digits, '_' and '-' (at most 128 characters).");
        }
    }
}
