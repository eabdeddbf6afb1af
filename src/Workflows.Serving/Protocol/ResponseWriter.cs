using System.Buffers;
using System.Globalization;
using System.Text.Json;
using Workflows.Serving.Batching;
using Workflows.Serving.Scoring;

namespace Workflows.Serving.Protocol;

/// <summary>
/// Writes v2 inference responses and v1 predict responses straight into the response's buffer with a
/// <see cref="Utf8JsonWriter"/>. A non-finite output value is written as <c>null</c> (JSON has no NaN).
/// </summary>
internal static class ResponseWriter
{
    /// <summary>
    /// <c>{"model_name", "model_version", "id", "outputs": [{"name", "datatype", "shape", "data"}]}</c>: the float
    /// output as FP32 [rows, width], the label as INT64 [rows], each when asked for.
    /// </summary>
    public static void WriteV2(IBufferWriter<byte> buffer, string model, int version, string id, ModelSchema schema, InferenceInput input, ScoreResult result)
    {
        using var writer = new Utf8JsonWriter(buffer);
        writer.WriteStartObject();
        writer.WriteString("model_name"u8, model);
        writer.WriteString("model_version"u8, version.ToString(CultureInfo.InvariantCulture));
        writer.WriteString("id"u8, id);
        writer.WriteStartArray("outputs"u8);
        if (input.Wants(schema.ValuesName))
        {
            WriteTensorHeader(writer, schema.ValuesName, "FP32", result.Rows, result.Width);
            foreach (var value in result.Values)
            {
                WriteFloat(writer, value);
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        if (schema.LabelName is not null && result.Labels is not null && input.Wants(schema.LabelName))
        {
            WriteTensorHeader(writer, schema.LabelName, "INT64", result.Rows, null);
            foreach (var label in result.Labels)
            {
                writer.WriteNumberValue(label);
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    /// <summary><c>{"predictions": [...]}</c>: per row the value when the model gives one per row, else the row's values.</summary>
    public static void WriteV1(IBufferWriter<byte> buffer, ScoreResult result)
    {
        using var writer = new Utf8JsonWriter(buffer);
        writer.WriteStartObject();
        writer.WriteStartArray("predictions"u8);
        for (var row = 0; row < result.Rows; row++)
        {
            if (result.Width == 1)
            {
                WriteFloat(writer, result.Values[row]);
                continue;
            }

            writer.WriteStartArray();
            foreach (var value in result.Values.AsSpan(row * result.Width, result.Width))
            {
                WriteFloat(writer, value);
            }

            writer.WriteEndArray();
        }

        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    private static void WriteTensorHeader(Utf8JsonWriter writer, string name, string datatype, int rows, int? width)
    {
        writer.WriteStartObject();
        writer.WriteString("name"u8, name);
        writer.WriteString("datatype"u8, datatype);
        writer.WriteStartArray("shape"u8);
        writer.WriteNumberValue(rows);
        if (width is { } w)
        {
            writer.WriteNumberValue(w);
        }

        writer.WriteEndArray();
        writer.WriteStartArray("data"u8);
    }

    private static void WriteFloat(Utf8JsonWriter writer, float value)
    {
        if (float.IsFinite(value))
        {
            writer.WriteNumberValue(value);
        }
        else
        {
            writer.WriteNullValue();
        }
    }
}
