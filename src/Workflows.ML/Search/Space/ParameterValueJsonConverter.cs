using System.Text.Json;
using System.Text.Json.Serialization;

namespace Workflows.ML.Search.Space;

/// <summary>Reads and writes a <see cref="ParameterValue"/> as a plain JSON number or string.</summary>
internal sealed class ParameterValueJsonConverter : JsonConverter<ParameterValue>
{
    public override ParameterValue Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => reader.TokenType switch
    {
        JsonTokenType.Number => ParameterValue.Of(reader.GetDouble()),
        JsonTokenType.String => ParameterValue.Of(reader.GetString()!),
        _ => throw new JsonException($"A parameter value must be a JSON number or string (was {reader.TokenType})."),
    };

    public override void Write(Utf8JsonWriter writer, ParameterValue value, JsonSerializerOptions options)
    {
        if (value.Number is { } number)
        {
            writer.WriteNumberValue(number);
        }
        else
        {
            writer.WriteStringValue(value.Text);
        }
    }
}
