using System.Buffers;
using System.Text.Json;

namespace Workflows.Serving.Protocol;

/// <summary>
/// Reads v2 inference requests and v1 predict requests straight from the request bytes with a
/// <see cref="Utf8JsonReader"/> (no document, no object per value). Tensor data may be flat or nested; a JSON
/// <c>null</c> or the string <c>"NaN"</c> is a missing value (NaN); any other string, a boolean or a number outside
/// the float32 range is refused. Unknown fields (<c>parameters</c>, extensions) are skipped.
/// </summary>
internal static class RequestParser
{
    /// <summary>Parses an Open Inference Protocol v2 request: <c>{"id", "inputs": [one tensor], "outputs"}</c>.</summary>
    public static InferenceInput ParseV2(ReadOnlySequence<byte> body)
    {
        var reader = new Utf8JsonReader(body, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Disallow });
        Expect(ref reader, JsonTokenType.StartObject, "The request must be a JSON object.");
        string? id = null;
        InferenceInput? input = null;
        List<string>? outputs = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("id"u8))
            {
                Expect(ref reader, JsonTokenType.String, "'id' must be a string.");
                id = reader.GetString();
            }
            else if (reader.ValueTextEquals("inputs"u8))
            {
                Expect(ref reader, JsonTokenType.StartArray, "'inputs' must be an array.");
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    if (input is not null)
                    {
                        throw new InputException("The request has more than one input; the model takes one tensor, 'features' [rows, features].");
                    }

                    input = ParseTensor(ref reader);
                }
            }
            else if (reader.ValueTextEquals("outputs"u8))
            {
                outputs = ParseOutputs(ref reader);
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        if (input is null)
        {
            throw new InputException("The request has no input; send 'inputs': [{\"name\", \"shape\": [rows, features], \"datatype\": \"FP32\", \"data\"}].");
        }

        return new InferenceInput
        {
            Id = id,
            InputName = input.InputName,
            Datatype = input.Datatype,
            Shape = input.Shape,
            Data = input.Data,
            RequestedOutputs = outputs,
        };
    }

    /// <summary>
    /// Parses a v1 predict request, <c>{"instances": [[f1, f2, ...], ...]}</c>, into an FP32 input named
    /// <paramref name="inputName"/> of shape [instances, features].
    /// </summary>
    public static InferenceInput ParseV1(ReadOnlySequence<byte> body, string inputName)
    {
        var reader = new Utf8JsonReader(body);
        Expect(ref reader, JsonTokenType.StartObject, "The request must be a JSON object.");
        InferenceInput? input = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (!reader.ValueTextEquals("instances"u8))
            {
                reader.Read();
                reader.Skip();
                continue;
            }

            Expect(ref reader, JsonTokenType.StartArray, "'instances' must be an array of rows.");
            var values = new ValueBuffer();
            long rows = 0, width = -1;
            while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
            {
                if (reader.TokenType != JsonTokenType.StartArray)
                {
                    throw new InputException("Each instance must be an array of feature values.");
                }

                var before = values.Count;
                ReadValues(ref reader, ref values, float.MaxValue);
                var length = values.Count - before;
                if (width >= 0 && length != width)
                {
                    throw new InputException($"Instance {rows} has {length} values; instance 0 has {width}.");
                }

                width = length;
                rows++;
            }

            input = new InferenceInput { InputName = inputName, Datatype = "FP32", Shape = [rows, Math.Max(width, 0)], Data = values.ToArray() };
        }

        return input ?? throw new InputException("The request has no 'instances'; send {\"instances\": [[f1, f2, ...], ...]}.");
    }

    private static InferenceInput ParseTensor(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw new InputException("Each input must be an object with name, shape, datatype and data.");
        }

        string? name = null, datatype = null;
        long[]? shape = null;
        var values = new ValueBuffer();
        var hasData = false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("name"u8))
            {
                Expect(ref reader, JsonTokenType.String, "An input's 'name' must be a string.");
                name = reader.GetString();
            }
            else if (reader.ValueTextEquals("datatype"u8))
            {
                Expect(ref reader, JsonTokenType.String, "An input's 'datatype' must be a string.");
                datatype = reader.GetString();
            }
            else if (reader.ValueTextEquals("shape"u8))
            {
                shape = ParseShape(ref reader);
            }
            else if (reader.ValueTextEquals("data"u8))
            {
                Expect(ref reader, JsonTokenType.StartArray, "An input's 'data' must be an array.");
                ReadValues(ref reader, ref values, datatype == "FP64" ? double.MaxValue : float.MaxValue);
                hasData = true;
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        if (name is null || datatype is null || shape is null || !hasData)
        {
            throw new InputException("An input needs 'name', 'shape', 'datatype' and 'data'.");
        }

        return new InferenceInput { InputName = name, Datatype = datatype, Shape = shape, Data = values.ToArray() };
    }

    private static long[] ParseShape(ref Utf8JsonReader reader)
    {
        Expect(ref reader, JsonTokenType.StartArray, "An input's 'shape' must be an array of integers.");
        var shape = new List<long>(2);
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out var dimension))
            {
                throw new InputException("An input's 'shape' must be an array of integers.");
            }

            shape.Add(dimension);
        }

        return [.. shape];
    }

    private static List<string> ParseOutputs(ref Utf8JsonReader reader)
    {
        Expect(ref reader, JsonTokenType.StartArray, "'outputs' must be an array of {\"name\"} objects.");
        var outputs = new List<string>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                throw new InputException("'outputs' must be an array of {\"name\"} objects.");
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("name"u8))
                {
                    Expect(ref reader, JsonTokenType.String, "An output's 'name' must be a string.");
                    outputs.Add(reader.GetString()!);
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }
        }

        return outputs;
    }

    /// <summary>Reads the values of the array the reader is on (nested arrays flattened in order) up to its end.</summary>
    private static void ReadValues(ref Utf8JsonReader reader, ref ValueBuffer values, double limit)
    {
        var depth = 1;
        while (depth > 0 && reader.Read())
        {
            switch (reader.TokenType)
            {
                case JsonTokenType.StartArray:
                    depth++;
                    break;
                case JsonTokenType.EndArray:
                    depth--;
                    break;
                case JsonTokenType.Number:
                    var value = reader.GetDouble();
                    if (Math.Abs(value) > limit)
                    {
                        throw new InputException($"Value {value} at position {values.Count} is out of the float32 range.");
                    }

                    values.Add((float)value);
                    break;
                case JsonTokenType.Null:
                    values.Add(float.NaN);
                    break;
                case JsonTokenType.String when reader.ValueTextEquals("NaN"u8):
                    values.Add(float.NaN);
                    break;
                default:
                    throw new InputException($"Value at position {values.Count} is not a number (numbers only; null or \"NaN\" for a missing value).");
            }
        }
    }

    private static void Expect(ref Utf8JsonReader reader, JsonTokenType type, string message)
    {
        if (!reader.Read() || reader.TokenType != type)
        {
            throw new InputException(message);
        }
    }

    /// <summary>A growable float buffer from the array pool.</summary>
    private struct ValueBuffer
    {
        private float[]? _buffer;

        public int Count { get; private set; }

        public void Add(float value)
        {
            if (_buffer is null || Count == _buffer.Length)
            {
                var grown = ArrayPool<float>.Shared.Rent(Math.Max(64, Count * 2));
                if (_buffer is not null)
                {
                    _buffer.AsSpan(0, Count).CopyTo(grown);
                    ArrayPool<float>.Shared.Return(_buffer);
                }

                _buffer = grown;
            }

            _buffer[Count++] = value;
        }

        public float[] ToArray()
        {
            if (_buffer is null)
            {
                return [];
            }

            var result = _buffer.AsSpan(0, Count).ToArray();
            ArrayPool<float>.Shared.Return(_buffer);
            _buffer = null;
            return result;
        }
    }
}
