using System.Text.Json;
using System.Text.Json.Serialization;

namespace Workflows.Durable.History;

/// <summary>JSON form of history events and messages, shared by every storage provider and by golden-history files.</summary>
public static class HistorySerializer
{
    /// <summary>Options used for history JSON: camelCase, enums as strings, nulls omitted.</summary>
    public static JsonSerializerOptions Options { get; } = CreateOptions();

    /// <summary>Serializes a list of events.</summary>
    public static string Serialize(IReadOnlyList<HistoryEvent> events) =>
        JsonSerializer.Serialize(events, Options);

    /// <summary>Serializes one event.</summary>
    public static string Serialize(HistoryEvent historyEvent) =>
        JsonSerializer.Serialize(historyEvent, Options);

    /// <summary>Deserializes a list of events.</summary>
    public static IReadOnlyList<HistoryEvent> DeserializeList(string json) =>
        JsonSerializer.Deserialize<List<HistoryEvent>>(json, Options)
        ?? throw new JsonException("History JSON was null.");

    /// <summary>Deserializes one event.</summary>
    public static HistoryEvent DeserializeEvent(string json) =>
        JsonSerializer.Deserialize<HistoryEvent>(json, Options)
        ?? throw new JsonException("History event JSON was null.");

    private static JsonSerializerOptions CreateOptions()
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web)
        {
            DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
            WriteIndented = false,
        };
        options.Converters.Add(new JsonStringEnumConverter());
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }
}
