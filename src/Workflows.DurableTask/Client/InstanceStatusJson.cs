using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using DurableTask.Core.History;
using Microsoft.DurableTask.Client;

namespace Workflows.DurableTask.Client;

/// <summary>
/// An instance's state in Durable Functions' status JSON (<c>name</c>, <c>instanceId</c>, <c>runtimeStatus</c>, ...):
/// what the host's HTTP API answers, and what the <c>durable</c> command line prints in its storage mode.
/// </summary>
public static class InstanceStatusJson
{
    /// <summary>
    /// The status document of <paramref name="metadata"/> (read with its inputs and outputs); <c>input</c> only with
    /// <paramref name="showInput"/>, <c>historyEvents</c> when <paramref name="history"/> is given.
    /// </summary>
    public static JsonObject Create(OrchestrationMetadata metadata, bool showInput, IList<HistoryEvent>? history = null, bool showHistoryOutput = false)
    {
        var status = new JsonObject
        {
            ["name"] = metadata.Name,
            ["instanceId"] = metadata.InstanceId,
            ["runtimeStatus"] = metadata.RuntimeStatus.ToString(),
            ["input"] = showInput ? ParsePayload(metadata.SerializedInput) : null,
            ["customStatus"] = ParsePayload(metadata.SerializedCustomStatus),
            ["output"] = metadata.RuntimeStatus == OrchestrationRuntimeStatus.Failed && metadata.FailureDetails is { } failure
                ? JsonValue.Create($"Orchestrator function '{metadata.Name}' failed: {failure.ErrorMessage}")
                : ParsePayload(metadata.SerializedOutput),
            ["createdTime"] = Time(metadata.CreatedAt),
            ["lastUpdatedTime"] = Time(metadata.LastUpdatedAt),
        };
        if (metadata.RuntimeStatus == OrchestrationRuntimeStatus.Failed && metadata.FailureDetails is { } details)
        {
            status["failureDetails"] = new JsonObject { ["errorType"] = details.ErrorType, ["errorMessage"] = details.ErrorMessage };
        }

        if (history is not null)
        {
            status["historyEvents"] = HistoryEventsJson.Create(history, showInput, showHistoryOutput);
        }

        return status;
    }

    private static string Time(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);

    /// <summary>A serialized payload as JSON; text that is not JSON (a custom converter's, a termination reason) as a string.</summary>
    internal static JsonNode? ParsePayload(string? serialized)
    {
        if (serialized is null)
        {
            return null;
        }

        try
        {
            return JsonNode.Parse(serialized);
        }
        catch (JsonException)
        {
            // A custom data converter (or a termination reason) may write plain text: show it as a string rather than
            // fail the request.
            return JsonValue.Create(serialized);
        }
    }
}
