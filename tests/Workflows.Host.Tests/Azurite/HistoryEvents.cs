using System.Globalization;
using System.Text.Json;

namespace Workflows.Host.Tests.Azurite;

/// <summary>Fields of a history event as the Durable Functions HTTP API writes it (<c>showHistory=true</c>).</summary>
internal static class HistoryEvents
{
    /// <summary>Its <c>EventType</c> (TaskCompleted, ExecutionStarted, ...).</summary>
    public static string? Type(JsonElement historyEvent) => historyEvent.GetProperty("EventType").GetString();

    /// <summary>Its <c>FunctionName</c>; null for an event without one.</summary>
    public static string? Function(JsonElement historyEvent) => historyEvent.TryGetProperty("FunctionName", out var name) ? name.GetString() : null;

    /// <summary>Its <c>Timestamp</c>, UTC.</summary>
    public static DateTime Time(JsonElement historyEvent) =>
        DateTime.Parse(historyEvent.GetProperty("Timestamp").GetString()!, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind);
}
