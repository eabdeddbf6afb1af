using System.Text.Json.Serialization;

namespace Workflows.Host.Timers;

/// <summary>A timer's persisted schedule: the last occurrence that ran and the next one due.</summary>
internal sealed record TimerStatus(
    [property: JsonPropertyName("last")] DateTimeOffset? Last,
    [property: JsonPropertyName("next")] DateTimeOffset? Next);
