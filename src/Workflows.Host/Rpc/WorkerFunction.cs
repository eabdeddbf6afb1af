using System.Text.Json;
using Microsoft.Azure.WebJobs.Script.Grpc.Messages;

namespace Workflows.Host.Rpc;

/// <summary>A function the worker indexed and loaded: what the host needs to route triggers to it.</summary>
/// <param name="Name">The function's name (<c>[Function("…")]</c>).</param>
/// <param name="Id">The id the worker knows it by for this worker process; a restarted worker may use another.</param>
/// <param name="EntryPoint">The method, as the worker reports it.</param>
/// <param name="Bindings">Its bindings, trigger first as the worker lists them.</param>
internal sealed record WorkerFunction(string Name, string Id, string EntryPoint, IReadOnlyList<WorkerBinding> Bindings)
{
    /// <summary>The trigger binding (an input whose type ends in <c>Trigger</c>), or null when the function has none.</summary>
    public WorkerBinding? Trigger => Bindings.FirstOrDefault(binding =>
        binding.Direction == WorkerBindingDirection.In && binding.Type.EndsWith("Trigger", StringComparison.OrdinalIgnoreCase));

    /// <summary>The function as the worker's metadata describes it: bindings from the raw binding JSON, else from the binding map.</summary>
    internal static WorkerFunction From(RpcFunctionMetadata metadata, string id)
    {
        var bindings = new List<WorkerBinding>();
        foreach (var raw in metadata.RawBindings)
        {
            bindings.Add(WorkerBinding.Parse(raw, metadata.Name));
        }

        if (bindings.Count == 0)
        {
            bindings.AddRange(metadata.Bindings.Select(pair => new WorkerBinding(
                pair.Key,
                pair.Value.Type,
                pair.Value.Direction switch
                {
                    BindingInfo.Types.Direction.Out => WorkerBindingDirection.Out,
                    BindingInfo.Types.Direction.Inout => WorkerBindingDirection.InOut,
                    _ => WorkerBindingDirection.In,
                },
                JsonSerializer.Serialize(new Dictionary<string, string> { ["name"] = pair.Key, ["type"] = pair.Value.Type, ["direction"] = pair.Value.Direction.ToString() }))));
        }

        return new WorkerFunction(metadata.Name, id, metadata.EntryPoint, bindings);
    }
}

/// <summary>One binding of a <see cref="WorkerFunction"/>.</summary>
/// <param name="Name">The parameter (or <c>$return</c>) the binding is for: the name of its data in invocations.</param>
/// <param name="Type">The binding type: <c>activityTrigger</c>, <c>httpTrigger</c>, <c>timerTrigger</c>, <c>http</c>, …</param>
/// <param name="Direction">In, out or both.</param>
/// <param name="RawJson">The binding's JSON as the worker sent it, with its type-specific properties (a timer's <c>schedule</c>, an HTTP trigger's <c>route</c> and <c>methods</c>, …).</param>
internal sealed record WorkerBinding(string Name, string Type, WorkerBindingDirection Direction, string RawJson)
{
    internal static WorkerBinding Parse(string rawJson, string functionName)
    {
        try
        {
            using var document = JsonDocument.Parse(rawJson);
            var root = document.RootElement;
            var name = root.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString() : null;
            var type = root.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
            var direction = root.TryGetProperty("direction", out var d) && d.ValueKind == JsonValueKind.String ? d.GetString() : null;
            if (string.IsNullOrEmpty(name) || string.IsNullOrEmpty(type) || !Enum.TryParse<WorkerBindingDirection>(direction, ignoreCase: true, out var parsed))
            {
                throw new FormatException($"A binding of function {functionName} lacks a name, a type or a direction (In, Out, InOut): {rawJson}");
            }

            return new WorkerBinding(name, type, parsed, rawJson);
        }
        catch (JsonException exception)
        {
            throw new FormatException($"A binding of function {functionName} is not JSON: {rawJson}", exception);
        }
    }
}

/// <summary>Which way a binding's data flows.</summary>
internal enum WorkerBindingDirection
{
    /// <summary>Into the function (triggers and input bindings).</summary>
    In,

    /// <summary>Out of the function (output bindings, <c>$return</c>).</summary>
    Out,

    /// <summary>Both ways.</summary>
    InOut,
}
