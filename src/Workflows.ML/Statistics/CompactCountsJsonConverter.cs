using System.Buffers;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Workflows.ML.Statistics;

/// <summary>
/// Writes histogram counts (one row of counts per column) as one base64 string of variable-length integers instead of
/// a JSON array of numbers; reads both. A first-pass partial of 100 columns × 5,120 fine bins is 512,000 counts: as
/// numbers, 1.2 MB of JSON that took 36 ms to parse, once per activity result, on the orchestrator's one thread.
/// <para>
/// Bytes, before base64: the format version (1), the number of rows, then per row its length and its counts, every
/// number an unsigned LEB128 varint, the counts zigzag-encoded (so a negative count, which no pass produces, still
/// round-trips). Small counts (the usual fine bin) take one byte. Partials written before this converter (arrays of
/// arrays) are still read, so histories recorded by older workers replay.
/// </para>
/// </summary>
public sealed class CompactCountsJsonConverter : JsonConverter<long[][]>
{
    private const byte Version = 1;

    /// <summary>Longest varint of a 64-bit value.</summary>
    private const int MaxVarintBytes = 10;

    /// <summary>Null counts reach <see cref="Read"/> too, which rejects them with a clear error.</summary>
    public override bool HandleNull => true;

    /// <inheritdoc/>
    public override long[][] Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.StartArray:
                return JsonSerializer.Deserialize<long[][]>(ref reader, options) is { } rows && Array.TrueForAll(rows, static row => row is not null)
                    ? rows
                    : throw new JsonException("histogram counts: a row is null.");
            case JsonTokenType.String:
                byte[] bytes;
                try
                {
                    bytes = reader.GetBytesFromBase64();
                }
                catch (FormatException error)
                {
                    throw new JsonException("histogram counts: the string is not base64.", error);
                }

                return Decode(bytes);
            default:
                throw new JsonException($"histogram counts: expected a base64 string or an array of arrays, found {reader.TokenType}.");
        }
    }

    /// <inheritdoc/>
    public override void Write(Utf8JsonWriter writer, long[][] value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        if (value is null)
        {
            writer.WriteNullValue();
            return;
        }

        long values = 0;
        foreach (var row in value)
        {
            values += row.Length;
        }

        var bound = checked((int)(1 + ((values + value.Length + 1) * MaxVarintBytes)));
        var buffer = ArrayPool<byte>.Shared.Rent(bound);
        try
        {
            var length = Encode(value, buffer);
            writer.WriteBase64StringValue(buffer.AsSpan(0, length));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>The bytes of <paramref name="rows"/> (see the class remarks) into <paramref name="buffer"/>; their length.</summary>
    internal static int Encode(long[][] rows, Span<byte> buffer)
    {
        var at = 0;
        buffer[at++] = Version;
        at += WriteVarint((ulong)rows.Length, buffer[at..]);
        foreach (var row in rows)
        {
            at += WriteVarint((ulong)row.Length, buffer[at..]);
            foreach (var count in row)
            {
                at += WriteVarint((ulong)((count << 1) ^ (count >> 63)), buffer[at..]);
            }
        }

        return at;
    }

    /// <summary>The rows written by <see cref="Encode"/>; a <see cref="JsonException"/> naming what is wrong when the bytes are not such rows.</summary>
    internal static long[][] Decode(ReadOnlySpan<byte> bytes)
    {
        if (bytes.IsEmpty || bytes[0] != Version)
        {
            throw new JsonException($"histogram counts: unknown format {(bytes.IsEmpty ? "(empty)" : bytes[0].ToString(System.Globalization.CultureInfo.InvariantCulture))}; this worker reads format {Version}.");
        }

        var at = 1;
        var rowCount = ReadLength(bytes, ref at);
        var rows = new long[rowCount][];
        for (var r = 0; r < rows.Length; r++)
        {
            var row = new long[ReadLength(bytes, ref at)];
            for (var b = 0; b < row.Length; b++)
            {
                var zigzag = ReadVarint(bytes, ref at);
                row[b] = (long)(zigzag >> 1) ^ -(long)(zigzag & 1);
            }

            rows[r] = row;
        }

        return at == bytes.Length ? rows : throw new JsonException($"histogram counts: {bytes.Length - at} bytes past the last row.");
    }

    private static int WriteVarint(ulong value, Span<byte> buffer)
    {
        var i = 0;
        while (value >= 0x80)
        {
            buffer[i++] = (byte)(value | 0x80);
            value >>= 7;
        }

        buffer[i++] = (byte)value;
        return i;
    }

    /// <summary>A row or column count: a varint that also fits in the bytes left (each value takes at least one).</summary>
    private static int ReadLength(ReadOnlySpan<byte> bytes, ref int at)
    {
        var length = ReadVarint(bytes, ref at);
        return length <= (ulong)(bytes.Length - at)
            ? (int)length
            : throw new JsonException($"histogram counts: a length of {length} is more than the {bytes.Length - at} bytes left.");
    }

    private static ulong ReadVarint(ReadOnlySpan<byte> bytes, ref int at)
    {
        ulong value = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            if (at >= bytes.Length)
            {
                throw new JsonException("histogram counts: the data ends inside a number.");
            }

            var next = bytes[at++];
            value |= (ulong)(next & 0x7F) << shift;
            if (next < 0x80)
            {
                return shift == 63 && next > 1 ? throw new JsonException("histogram counts: a number beyond 64 bits.") : value;
            }
        }

        throw new JsonException("histogram counts: a number longer than 10 bytes.");
    }
}
