using System.Buffers;
using System.Globalization;
using System.Text;

namespace Workflows.ML.Data;

/// <summary>
/// Parses the rows of one CSV chunk straight from UTF-8 bytes into column arrays: lines and fields are spans of a
/// pooled buffer and numbers are parsed from UTF-8, so no string is made per row or per cell.
/// </summary>
internal sealed class CsvChunkParser
{
    private readonly ChunkLocation _chunk;
    private readonly int _fieldCount;
    private readonly int[] _targetOfField;
    private readonly string[] _targetNames;
    private readonly double[][] _targets;
    private int _row;

    /// <param name="chunk">The chunk (for error messages).</param>
    /// <param name="fieldCount">Fields per line (the header's).</param>
    /// <param name="targetOfField">Per field, the index into <paramref name="targets"/>, or -1 to skip it.</param>
    /// <param name="targetNames">Column name of each target, for error messages.</param>
    /// <param name="targets">One array per parsed column, one value per row.</param>
    public CsvChunkParser(ChunkLocation chunk, int fieldCount, int[] targetOfField, string[] targetNames, double[][] targets)
    {
        _chunk = chunk;
        _fieldCount = fieldCount;
        _targetOfField = targetOfField;
        _targetNames = targetNames;
        _targets = targets;
    }

    /// <summary>Reads <see cref="ChunkLocation.Rows"/> non-blank lines from the stream's current position.</summary>
    public async Task ParseAsync(Stream stream, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(1 << 16);
        try
        {
            int start = 0, end = 0;
            var atEnd = false;
            while (_row < _chunk.Rows)
            {
                start += ParseCompleteLines(buffer.AsSpan(start, end - start), atEnd);
                if (_row >= _chunk.Rows)
                {
                    break;
                }

                if (atEnd)
                {
                    throw new DatasetException($"chunk {_chunk.Index}: '{_chunk.File}' ended after {_row} of {_chunk.Rows} rows; the dataset changed after it was described.");
                }

                // Keep the unfinished line at the front; grow only for a line longer than the buffer.
                if (start > 0)
                {
                    buffer.AsSpan(start, end - start).CopyTo(buffer);
                    end -= start;
                    start = 0;
                }

                if (end == buffer.Length)
                {
                    var larger = ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
                    buffer.AsSpan(0, end).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = larger;
                }

                var read = await stream.ReadAsync(buffer.AsMemory(end), cancellationToken).ConfigureAwait(false);
                atEnd = read == 0;
                end += read;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Parses every complete line (and, at the end of the file, the last one); returns the bytes consumed.</summary>
    private int ParseCompleteLines(ReadOnlySpan<byte> text, bool atEnd)
    {
        var consumed = 0;
        while (_row < _chunk.Rows && consumed < text.Length)
        {
            var rest = text[consumed..];
            var newline = rest.IndexOf((byte)'\n');
            if (newline < 0 && !atEnd)
            {
                break;
            }

            var line = newline < 0 ? rest : rest[..newline];
            consumed += newline < 0 ? rest.Length : newline + 1;
            line = line.TrimEnd((byte)'\r');
            if (!line.IsEmpty)
            {
                ParseLine(line);
                _row++;
            }
        }

        return consumed;
    }

    private void ParseLine(ReadOnlySpan<byte> line)
    {
        var field = 0;
        while (true)
        {
            var comma = line.IndexOf((byte)',');
            var cell = comma < 0 ? line : line[..comma];
            if (field < _fieldCount && _targetOfField[field] is var target and >= 0)
            {
                _targets[target][_row] = Parse(cell.Trim((byte)' '), target);
            }

            field++;
            if (comma < 0)
            {
                break;
            }

            line = line[(comma + 1)..];
        }

        if (field != _fieldCount)
        {
            throw new DatasetException($"chunk {_chunk.Index}, row {_row} of '{_chunk.File}': expected {_fieldCount} fields, found {field}.");
        }
    }

    private double Parse(ReadOnlySpan<byte> cell, int target)
    {
        if (cell.IsEmpty)
        {
            return double.NaN;
        }

        return double.TryParse(cell, NumberStyles.Float, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw new DatasetException(
                $"column '{_targetNames[target]}' is not numeric: chunk {_chunk.Index}, row {_row} of '{_chunk.File}' holds a value that is not a number.");
    }
}
