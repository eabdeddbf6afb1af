using System.Buffers;
using System.Text;

namespace Workflows.ML.Data;

/// <summary>Finds the header and the chunk boundaries of a CSV file by scanning bytes once, without decoding rows.</summary>
internal static class CsvScanner
{
    private const int MaxHeaderBytes = 1 << 20;

    /// <summary>The header fields and the byte offset of the first data line.</summary>
    public static async Task<(string[] Header, long DataStart)> ReadHeaderAsync(Stream stream, CancellationToken cancellationToken)
    {
        stream.Position = 0;
        var buffer = new byte[Math.Min(MaxHeaderBytes, Math.Max(1, stream.Length))];
        var filled = 0;
        while (filled < buffer.Length)
        {
            var read = await stream.ReadAsync(buffer.AsMemory(filled), cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                break;
            }

            var newline = Array.IndexOf(buffer, (byte)'\n', filled, read);
            filled += read;
            if (newline >= 0)
            {
                return (Split(buffer.AsSpan(0, newline)), newline + 1);
            }
        }

        if (filled == 0)
        {
            throw new DatasetException("CSV file is empty: it has no header line.");
        }

        return (Split(buffer.AsSpan(0, filled)), filled);
    }

    /// <summary>Offsets and row counts of consecutive chunks of <paramref name="chunkRows"/> lines from the stream position.</summary>
    public static async Task<List<(long Offset, long Rows)>> CutAsync(Stream stream, int chunkRows, CancellationToken cancellationToken)
    {
        var chunks = new List<(long, long)>();
        var buffer = ArrayPool<byte>.Shared.Rent(1 << 16);
        try
        {
            var position = stream.Position;
            var chunkStart = position;
            long rows = 0;
            var lineHasContent = false;
            int read;
            while ((read = await stream.ReadAsync(buffer.AsMemory(0, 1 << 16), cancellationToken).ConfigureAwait(false)) > 0)
            {
                for (var i = 0; i < read; i++)
                {
                    var b = buffer[i];
                    if (b != (byte)'\n')
                    {
                        lineHasContent |= b != (byte)'\r';
                        continue;
                    }

                    if (lineHasContent)
                    {
                        rows++;
                    }

                    lineHasContent = false;
                    if (rows == chunkRows)
                    {
                        chunks.Add((chunkStart, rows));
                        chunkStart = position + i + 1;
                        rows = 0;
                    }
                }

                position += read;
            }

            if (lineHasContent)
            {
                rows++;
            }

            if (rows > 0)
            {
                chunks.Add((chunkStart, rows));
            }

            return chunks;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static string[] Split(ReadOnlySpan<byte> line)
    {
        var text = Encoding.UTF8.GetString(line).TrimEnd('\r').TrimStart('\uFEFF');
        var fields = text.Split(',', StringSplitOptions.TrimEntries);
        return fields.Length == 1 && fields[0].Length == 0 ? [] : fields;
    }
}
