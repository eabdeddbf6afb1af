using System.Buffers;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Workflows.ML.Statistics;

/// <summary>
/// Histogram count rows (one per column) held as the bytes that <see cref="CompactCountsJsonConverter"/> writes: the
/// form an activity's <see cref="HistogramPartial"/> takes from <see cref="HistogramCounter"/> and the orchestrator
/// reads back from history, until a merge adds it into dense rows.
/// <para>
/// Why: a first-pass partial of 100 columns × 5,120 fine bins is 4 MB of <see cref="long"/> rows, allocated once per
/// activity only to be serialized (and, on the orchestrator, parsed back only to be added). Here that allocation
/// cost more than all the statistics' kernels: on two cores the one pass over 1 M rows × 100 columns in groups of
/// 10 chunks went from 71 % to 83 % of the reused-buffer decode when the dense partial was not allocated. These
/// bytes are about a sixth of that (most fine bins hold small counts, one byte each).
/// </para>
/// <para>
/// Bytes: the format version (1), the number of rows, then per row its length and its counts, every number an
/// unsigned LEB128 varint, the counts zigzag-encoded (so a negative count, which no pass produces, still round-trips).
/// The bytes are checked when made (<see cref="Parse"/>), so a corrupt payload fails where it is read, with a
/// <see cref="JsonException"/> that says what is wrong, not later in a merge.
/// </para>
/// </summary>
[JsonConverter(typeof(CompactCountsJsonConverter))]
internal sealed class CompactCounts
{
    private const byte Version = 1;

    /// <summary>Longest varint of a 64-bit value.</summary>
    private const int MaxVarintBytes = 10;

    private readonly byte[] _bytes;

    /// <summary>Offset in <see cref="_bytes"/> of each row's first count.</summary>
    private readonly int[] _starts;

    /// <summary>Counts in each row.</summary>
    private readonly int[] _lengths;

    private CompactCounts(byte[] bytes, int[] starts, int[] lengths)
    {
        _bytes = bytes;
        _starts = starts;
        _lengths = lengths;
    }

    /// <summary>Rows (columns) held.</summary>
    public int RowCount => _lengths.Length;

    /// <summary>The encoded bytes (see the class remarks).</summary>
    public ReadOnlySpan<byte> Bytes => _bytes;

    /// <summary>Counts in row <paramref name="row"/> (0 for a column not counted).</summary>
    public int RowLength(int row) => _lengths[row];

    /// <summary>
    /// Checks <paramref name="bytes"/> (which the result keeps: the caller hands them over) and indexes their rows; a
    /// <see cref="JsonException"/> naming what is wrong when they are not rows in this format.
    /// </summary>
    public static CompactCounts Parse(byte[] bytes)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        if (bytes.Length == 0 || bytes[0] != Version)
        {
            throw new JsonException($"histogram counts: unknown format {(bytes.Length == 0 ? "(empty)" : bytes[0].ToString(CultureInfo.InvariantCulture))}; this worker reads format {Version}.");
        }

        var at = 1;
        var rowCount = ReadLength(bytes, ref at);
        var starts = new int[rowCount];
        var lengths = new int[rowCount];
        for (var r = 0; r < rowCount; r++)
        {
            lengths[r] = ReadLength(bytes, ref at);
            starts[r] = at;
            for (var b = 0; b < lengths[r]; b++)
            {
                ReadVarint(bytes, ref at);
            }
        }

        return at == bytes.Length ? new CompactCounts(bytes, starts, lengths) : throw new JsonException($"histogram counts: {bytes.Length - at} bytes past the last row.");
    }

    /// <summary>The rows <paramref name="rows"/>, encoded.</summary>
    public static CompactCounts Encode(long[][] rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var lengths = new int[rows.Length];
        for (var r = 0; r < rows.Length; r++)
        {
            lengths[r] = (rows[r] ?? throw new ArgumentException($"row {r} is null.", nameof(rows))).Length;
        }

        var writer = new Writer(lengths);
        try
        {
            foreach (var row in rows)
            {
                writer.Write(row);
            }

            return writer.ToCounts();
        }
        finally
        {
            writer.Dispose();
        }
    }

    /// <summary>
    /// Rows of <paramref name="lengths"/> counts taken one after the other from <paramref name="counts"/> (a row of
    /// length 0 takes none), encoded: what <see cref="HistogramCounter"/> holds, with no row arrays in between.
    /// </summary>
    public static CompactCounts Encode(ReadOnlySpan<long> counts, int[] lengths)
    {
        ArgumentNullException.ThrowIfNull(lengths);
        long total = 0;
        foreach (var length in lengths)
        {
            total += length >= 0 ? length : throw new ArgumentException($"a row of {length} counts.", nameof(lengths));
        }

        if (total > counts.Length)
        {
            throw new ArgumentException($"rows of {total} counts in all from a buffer of {counts.Length}.", nameof(lengths));
        }

        var writer = new Writer((int[])lengths.Clone());
        try
        {
            var offset = 0;
            foreach (var length in lengths)
            {
                writer.Write(counts.Slice(offset, length));
                offset += length;
            }

            return writer.ToCounts();
        }
        finally
        {
            writer.Dispose();
        }
    }

    /// <summary>Row <paramref name="row"/> as a new array.</summary>
    public long[] ExpandRow(int row)
    {
        var counts = new long[_lengths[row]];
        AddRowTo(row, counts);
        return counts;
    }

    /// <summary>All rows as new arrays.</summary>
    public long[][] Expand()
    {
        var rows = new long[RowCount][];
        for (var r = 0; r < rows.Length; r++)
        {
            rows[r] = ExpandRow(r);
        }

        return rows;
    }

    /// <summary>Adds row <paramref name="row"/> to <paramref name="target"/>, count by count (same length).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void AddRowTo(int row, Span<long> target)
    {
        if (target.Length != _lengths[row])
        {
            throw new ArgumentException($"row {row} holds {_lengths[row]} counts, not {target.Length}.", nameof(target));
        }

        var at = _starts[row];
        var bytes = _bytes;

        // The bytes were checked when made. Counts of one or two bytes (every fine bin below 8,192) are read without
        // a branch on their length, which half the bins of a bell curve's middle would mispredict.
        var b = 0;
        for (; b < target.Length && at + 1 < bytes.Length; b++)
        {
            uint first = bytes[at];
            uint second = bytes[at + 1];
            var more = first >> 7;
            if ((more & (second >> 7)) != 0)
            {
                break;
            }

            var zigzag = (first & 0x7F) | ((second * more) << 7);
            at += 1 + (int)more;
            target[b] += (long)(zigzag >> 1) ^ -(long)(zigzag & 1);
        }

        // The rest (a count of three bytes or more, or the last byte of the bytes) one varint at a time.
        for (; b < target.Length; b++)
        {
            var zigzag = ReadVarint(bytes, ref at);
            target[b] += (long)(zigzag >> 1) ^ -(long)(zigzag & 1);
        }
    }

    /// <summary>
    /// Writes rows one after the other into a pooled buffer of the largest size they can take (one pass, no sizing
    /// pass), then copies the bytes written into an array of their exact size.
    /// </summary>
    private struct Writer : IDisposable
    {
        private readonly int[] _lengths;
        private readonly int[] _starts;
        private byte[]? _buffer;
        private int _at;
        private int _row;

        public Writer(int[] lengths)
        {
            _lengths = lengths;
            _starts = new int[lengths.Length];
            long bound = 1 + MaxVarintBytes;
            foreach (var length in lengths)
            {
                bound += MaxVarintBytes * (1L + length);
            }

            _buffer = ArrayPool<byte>.Shared.Rent(checked((int)bound));
            _buffer[0] = Version;
            _at = 1 + WriteVarint((ulong)lengths.Length, _buffer.AsSpan(1));
        }

        /// <summary>Writes the next row (as long as its length says).</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Write(ReadOnlySpan<long> row)
        {
            var bytes = _buffer!;
            var at = _at + WriteVarint((ulong)row.Length, bytes.AsSpan(_at));
            _starts[_row++] = at;
            // One or two bytes (every fine bin below 8,192) without a branch on which: both are written at once, the
            // second overwritten by the next count when the first was enough. The buffer has room for ten a count.
            ref var target = ref MemoryMarshal.GetArrayDataReference(bytes);
            foreach (var count in row)
            {
                var zigzag = ZigZag(count);
                if (zigzag < 0x4000)
                {
                    var more = (uint)((ulong)(0x7FL - (long)zigzag) >> 63);
                    Unsafe.WriteUnaligned(ref Unsafe.Add(ref target, at), (ushort)((zigzag & 0x7F) | (more << 7) | ((zigzag >> 7) << 8)));
                    at += 1 + (int)more;
                }
                else
                {
                    at += WriteVarint(zigzag, bytes.AsSpan(at));
                }
            }

            _at = at;
        }

        /// <summary>The rows written, in an array of the exact size.</summary>
        public readonly CompactCounts ToCounts()
        {
            var bytes = GC.AllocateUninitializedArray<byte>(_at);
            _buffer.AsSpan(0, _at).CopyTo(bytes);
            return new CompactCounts(bytes, _starts, _lengths);
        }

        public void Dispose()
        {
            if (_buffer is { } buffer)
            {
                _buffer = null;
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }

    private static ulong ZigZag(long count) => (ulong)((count << 1) ^ (count >> 63));

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
