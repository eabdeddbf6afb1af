using System.Text.Json;
using Microsoft.Azure.WebJobs.Script.Grpc.Messages;

namespace Workflows.Host.Rpc;

/// <summary>Where the app's <c>[DurableClient]</c> bindings reach the task hub: the host's Durable Task gRPC endpoint.</summary>
/// <param name="RpcBaseUrl">The gRPC endpoint (the sidecar).</param>
/// <param name="TaskHubName">The task hub.</param>
/// <param name="HttpBaseUrl">The host's base URL for the Durable HTTP API (management links the client builds).</param>
/// <param name="RequiredQueryStringParameters">The query the management links carry (<c>code=</c> the system key while keys are enforced; empty otherwise).</param>
/// <param name="MaxGrpcMessageSizeInBytes">The largest gRPC message the client may send or receive.</param>
internal sealed record DurableClientEndpoint(Uri RpcBaseUrl, string TaskHubName, Uri HttpBaseUrl, string RequiredQueryStringParameters = "", int MaxGrpcMessageSizeInBytes = 16 * 1024 * 1024)
{
    /// <summary>The Durable Functions HTTP API's path under the host's address (the base of the management links).</summary>
    public const string WebhookBase = "runtime/webhooks/durabletask";
}

/// <summary>
/// The bindings the host supplies to the app's functions, as the Functions host and its extensions do: triggers
/// (HTTP, timer, orchestration, activity), the <c>[DurableClient]</c> input, and the outputs the worker answers itself
/// (the HTTP response, the return value). Anything else is refused when the worker is loaded, naming the function and
/// the binding, instead of failing at the first invocation.
/// </summary>
internal sealed class WorkerBindings(Func<DurableClientEndpoint?> durableClient)
{
    /// <summary>Bindings whose <c>[DurableClient]</c> inputs reach <paramref name="durableClient"/> (none: refused).</summary>
    public WorkerBindings(DurableClientEndpoint? durableClient)
        : this(() => durableClient)
    {
    }

    private static readonly HashSet<string> Triggers = new(StringComparer.OrdinalIgnoreCase) { "httpTrigger", "timerTrigger", "orchestrationTrigger", "activityTrigger" };
    private static readonly HashSet<string> Outputs = new(StringComparer.OrdinalIgnoreCase) { "http" };

    /// <summary>The bindings of <paramref name="functions"/> this host cannot supply, one line each; empty when all are supported.</summary>
    public static IReadOnlyList<string> Unsupported(IEnumerable<WorkerFunction> functions)
    {
        ArgumentNullException.ThrowIfNull(functions);
        var problems = new List<string>();
        foreach (var function in functions)
        {
            if (function.Trigger is null)
            {
                problems.Add($"function '{function.Name}' has no trigger this host supports ({string.Join(", ", Triggers.Order(StringComparer.Ordinal))})");
            }

            foreach (var binding in function.Bindings)
            {
                bool supported = binding.Direction switch
                {
                    WorkerBindingDirection.In => Triggers.Contains(binding.Type) || string.Equals(binding.Type, "durableClient", StringComparison.OrdinalIgnoreCase),
                    WorkerBindingDirection.Out => Outputs.Contains(binding.Type) || binding.Name == "$return",
                    _ => false,
                };
                if (!supported)
                {
                    problems.Add($"function '{function.Name}': binding '{binding.Name}' of type '{binding.Type}' ({binding.Direction}) is not supported by this host");
                }
            }
        }

        return problems;
    }

    /// <summary>The input data of <paramref name="function"/>'s non-trigger inputs (its <c>[DurableClient]</c> parameters).</summary>
    public IEnumerable<ParameterBinding> InputsFor(WorkerFunction function)
    {
        ArgumentNullException.ThrowIfNull(function);
        foreach (var binding in function.Bindings)
        {
            if (binding.Direction == WorkerBindingDirection.In && string.Equals(binding.Type, "durableClient", StringComparison.OrdinalIgnoreCase))
            {
                yield return new ParameterBinding { Name = binding.Name, Data = new TypedData { String = DurableClientData(binding) } };
            }
        }
    }

    /// <summary>
    /// A timer trigger's value as the Functions host's timer extension sends it: the schedule's status (last and next
    /// occurrence, when it was recorded) and whether this run is past its time.
    /// </summary>
    public static TypedData TimerTrigger(bool isPastDue, DateTimeOffset? last, DateTimeOffset? next, DateTimeOffset lastUpdated) => new()
    {
        Json = JsonSerializer.Serialize(new
        {
            Schedule = new { AdjustForDST = true },
            ScheduleStatus = new { Last = last ?? DateTimeOffset.MinValue, Next = next ?? DateTimeOffset.MinValue, LastUpdated = lastUpdated },
            IsPastDue = isPastDue,
        }),
    };

    /// <summary>
    /// The client binding's data as the Durable extension sends it to isolated workers (out-of-process "v2"): the gRPC
    /// endpoint, the task hub, the host's base URL and the query its management links need (the system key, while keys
    /// are enforced). The message size limit must be present (the worker reads a
    /// missing one as 0).
    /// </summary>
    private string DurableClientData(WorkerBinding binding)
    {
        var endpoint = durableClient() ?? throw new InvalidOperationException(
            $"The app asks for a durable client ('{binding.Name}'), and this host serves no Durable Task gRPC endpoint.");
        using var raw = JsonDocument.Parse(binding.RawJson);
        string hub = raw.RootElement.TryGetProperty("taskHub", out var given) && given.ValueKind == JsonValueKind.String && given.GetString() is { Length: > 0 } named
            ? named
            : endpoint.TaskHubName;
        return JsonSerializer.Serialize(new Dictionary<string, object?>
        {
            ["taskHubName"] = hub,
            ["connectionName"] = raw.RootElement.TryGetProperty("connectionName", out var connection) && connection.ValueKind == JsonValueKind.String ? connection.GetString() : null,
            ["rpcBaseUrl"] = endpoint.RpcBaseUrl.OriginalString,
            ["httpBaseUrl"] = endpoint.HttpBaseUrl.OriginalString,
            ["requiredQueryStringParameters"] = endpoint.RequiredQueryStringParameters,
            ["maxGrpcMessageSizeInBytes"] = endpoint.MaxGrpcMessageSizeInBytes,
        });
    }
}
