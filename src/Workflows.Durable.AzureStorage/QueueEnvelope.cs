using System.Text.Json;
using System.Text.Json.Serialization;

namespace Workflows.Durable.AzureStorage;

/// <summary>
/// The JSON body of a control-queue or work-item-queue message: one history event for one instance, inline
/// or, when large, as the name of a blob in the large-messages container.
/// </summary>
/// <param name="Id">Unique id of the logical message (stable across redeliveries).</param>
/// <param name="InstanceId">Target instance.</param>
/// <param name="ExecutionId">Target execution, or null for the current one.</param>
/// <param name="Event">The event's JSON (HistorySerializer), when inline.</param>
/// <param name="EventBlob">The blob holding the event's JSON, when large.</param>
/// <param name="VisibleAt">Not to be delivered before this time (timers beyond the queue's 7-day delay limit are re-sent).</param>
/// <param name="Kind">Null for a history event; <see cref="RecoveryMarker"/> for an activity recovery marker (no event).</param>
/// <param name="Spilled">On a recovery marker: task ids that run from the work-item queue, which recovery must not re-run.</param>
internal sealed record QueueEnvelope(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("i")] string InstanceId,
    [property: JsonPropertyName("x")] string? ExecutionId,
    [property: JsonPropertyName("e")] string? Event,
    [property: JsonPropertyName("b")] string? EventBlob,
    [property: JsonPropertyName("v")] DateTime? VisibleAt,
    [property: JsonPropertyName("k")] string? Kind = null,
    [property: JsonPropertyName("s")] IReadOnlyList<int>? Spilled = null)
{
    /// <summary>Kind of the message that keeps in-process activities of an instance recoverable (docs/task-hub-commit-protocol.md).</summary>
    public const string RecoveryMarker = "recovery";

    private static readonly JsonSerializerOptions Options = new() { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    public string ToJson() => JsonSerializer.Serialize(this, Options);

    public static QueueEnvelope FromJson(string json) =>
        JsonSerializer.Deserialize<QueueEnvelope>(json, Options) ?? throw new JsonException("Empty queue message.");
}
