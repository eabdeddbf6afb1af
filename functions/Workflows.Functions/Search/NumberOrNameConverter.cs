using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Workflows.Functions.Search;

/// <summary>Reads a setting written as a JSON name (<c>"exhaust"</c>) or an integer (<c>20</c>) into its string form; writes integers as numbers.</summary>
internal sealed class NumberOrNameConverter : JsonConverter<string>
{
    public override string Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => reader.TokenType switch
    {
        JsonTokenType.String => reader.GetString()!,
        JsonTokenType.Number => reader.GetInt64().ToString(CultureInfo.InvariantCulture),
        _ => throw new JsonException($"Expected a name or an integer (was {reader.TokenType})."),
    };

    public override void Write(Utf8JsonWriter writer, string value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        if (long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var number))
        {
            writer.WriteNumberValue(number);
        }
        else
        {
            writer.WriteStringValue(value);
        }
    }
}
