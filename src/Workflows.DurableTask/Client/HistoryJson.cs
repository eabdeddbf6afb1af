using DurableTask.Core.History;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace Workflows.DurableTask.Client;

/// <summary>
/// Reads the history JSON that <c>IOrchestrationServiceClient.GetOrchestrationHistoryAsync</c> returns into typed
/// events, whichever backend wrote it: DTFx's Azure Storage provider writes plain objects with an <c>EventType</c>
/// number, DTFx's JSON data converter adds a <c>$type</c> to every object. The concrete type always comes from <c>EventType</c>;
/// <c>$type</c> is never trusted.
/// </summary>
internal static class HistoryJson
{
    private static readonly JsonSerializer Serializer = JsonSerializer.Create(new JsonSerializerSettings
    {
        TypeNameHandling = TypeNameHandling.None,
        DateTimeZoneHandling = DateTimeZoneHandling.Utc,
        MetadataPropertyHandling = MetadataPropertyHandling.Ignore,
    });

    private static readonly Dictionary<EventType, Type> Types = typeof(HistoryEvent).Assembly.GetTypes()
        .Where(static t => t.IsSubclassOf(typeof(HistoryEvent)) && !t.IsAbstract && t.Namespace == typeof(HistoryEvent).Namespace)
        .Select(static t => (Type: t, Kind: Enum.TryParse<EventType>(t.Name.EndsWith("Event", StringComparison.Ordinal) && t.Name != nameof(GenericEvent) ? t.Name[..^5] : t.Name, out var kind) ? kind : (EventType?)null))
        .Where(static p => p.Kind is not null)
        .GroupBy(static p => p.Kind!.Value)
        .ToDictionary(static g => g.Key, static g => g.First().Type);

    /// <summary>The events of <paramref name="json"/>, in order; empty text is an empty history.</summary>
    /// <exception cref="JsonException">The text is not a history.</exception>
    public static List<HistoryEvent> Parse(string? json)
    {
        if (string.IsNullOrWhiteSpace(json))
        {
            return [];
        }

        var events = new List<HistoryEvent>();
        foreach (JToken token in JArray.Parse(json))
        {
            if (token is not JObject item || item["EventType"] is not { } kindToken)
            {
                throw new JsonSerializationException($"A history event has no EventType: {token.ToString(Formatting.None)}");
            }

            EventType kind = kindToken.Type == JTokenType.Integer
                ? (EventType)kindToken.Value<int>()
                : Enum.Parse<EventType>(kindToken.Value<string>() ?? string.Empty, ignoreCase: true);
            if (!Types.TryGetValue(kind, out Type? type))
            {
                throw new JsonSerializationException($"History event type {kind} has no event class.");
            }

            // DTFx's converter writes $type on nested objects too (a tags dictionary, a parent instance): none is data.
            foreach (JProperty typeName in item.DescendantsAndSelf().OfType<JObject>().Select(static o => o.Property("$type")).OfType<JProperty>().ToList())
            {
                typeName.Remove();
            }

            item.Remove("EventType");
            events.Add((HistoryEvent)(item.ToObject(type, Serializer)
                ?? throw new JsonSerializationException($"A history event of type {kind} read as null.")));
        }

        return events;
    }
}
