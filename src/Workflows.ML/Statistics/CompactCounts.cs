using System.Globalization;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Workflows.ML.Statistics;

/// <summary>
/// Histogram count rows (one per column) held as the bytes that <see cref="CompactCountsJsonConverter"/> writes: the
/// form an activity's <see cref="HistogramPartial"/> takes from <see cref="HistogramCounter"/> and the orchestrator
/// reads back from history, until a merge adds it into dense rows.
/// <para>
/// Why: a first-pass partial of 100 columns × 5,120 fine bins is 4 MB of <see cref="long"/> rows, allocated once per
/// activity only to be serialized (and, on the orchestrator, parsed back only to be added). On the development
/// machine (a small gen-0 budget: ~290 collections a pass) that allocation cost more than the statistics' kernels:
/// the one pass over 1 M rows × 100 columns in groups of 10 chunks, two workers, old and new alternated five times,
/// went from 71–76 % to 77–81 % of the reused-buffer decode with these bytes instead. They are about a seventh of the
/// rows (most fine bins hold small counts, one byte each); encoding them from a counter's int32 rows takes about
/// 0.6 ms an activity and adding them to a total 0.3 ms (eight one-byte counts at a time with AVX-512).
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
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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
            for (var b = 0; b < lengths[r];)
            {
                // Eight one-byte counts (no continuation bit among eight bytes) at once; the rest one varint at a time.
                if (b <= lengths[r] - 8 && at <= bytes.Length - 8 && (BitConverter.ToUInt64(bytes, at) & 0x8080808080808080UL) == 0)
                {
                    at += 8;
                    b += 8;
                    continue;
                }

                ReadVarint(bytes, ref at);
                b++;
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

        long size = HeaderSize(rows.Length);
        foreach (var row in rows)
        {
            size += RowSize<long>(row);
        }

        var writer = new Writer(lengths, size);
        foreach (var row in rows)
        {
            writer.Write<long>(row);
        }

        return writer.ToCounts();
    }

    /// <summary>
    /// Rows of <paramref name="lengths"/> counts taken one after the other from <paramref name="counts"/> (a row of
    /// length 0 takes none), encoded: what <see cref="HistogramCounter"/> holds, with no row arrays in between.
    /// </summary>
    public static CompactCounts Encode<T>(ReadOnlySpan<T> counts, int[] lengths)
        where T : unmanaged, IBinaryInteger<T>
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

        long size = HeaderSize(lengths.Length);
        var offset = 0;
        foreach (var length in lengths)
        {
            size += RowSize(counts.Slice(offset, length));
            offset += length;
        }

        var writer = new Writer((int[])lengths.Clone(), size);
        offset = 0;
        foreach (var length in lengths)
        {
            writer.Write(counts.Slice(offset, length));
            offset += length;
        }

        return writer.ToCounts();
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
        var vector = Avx512F.IsSupported;
        ref var source = ref MemoryMarshal.GetArrayDataReference(bytes);
        ref var sums = ref MemoryMarshal.GetReference(target);
        for (var b = 0; b < target.Length;)
        {
            // Eight counts of one byte each (most fine bins: a distribution's tails) in one step: widen, un-zigzag, add.
            if (vector && b <= target.Length - 8 && at <= bytes.Length - 8)
            {
                var eight = Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref source, at));
                if ((eight & 0x8080808080808080UL) == 0)
                {
                    var zigzags = Avx512F.ConvertToVector512UInt64(Vector128.CreateScalar(eight).AsByte());
                    var counts = Vector512.ShiftRightLogical(zigzags, 1).AsInt64() ^ -(zigzags & Vector512<ulong>.One).AsInt64();
                    (Vector512.LoadUnsafe(ref sums, (nuint)b) + counts).StoreUnsafe(ref sums, (nuint)b);
                    b += 8;
                    at += 8;
                    continue;
                }
            }

            // One count. The bytes were checked when made. One or two bytes (every fine bin below 8,192) are read
            // without a branch on which, that half the bins of a bell curve's middle would mispredict; longer counts,
            // and a count in the last byte, one varint at a time.
            ulong zigzag;
            if (at + 1 < bytes.Length && (bytes[at] & bytes[at + 1] & 0x80) == 0)
            {
                uint first = bytes[at];
                var more = first >> 7;
                zigzag = (first & 0x7F) | ((bytes[at + 1] * more) << 7);
                at += 1 + (int)more;
            }
            else
            {
                zigzag = ReadVarint(bytes, ref at);
            }

            target[b++] += (long)(zigzag >> 1) ^ -(long)(zigzag & 1);
        }
    }

    /// <summary>Bytes of the version and the number of rows.</summary>
    private static long HeaderSize(int rows) => 1 + VarintLength((ulong)rows);

    /// <summary>Bytes of a row: its length and its counts (int32 rows eight at a time).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static long RowSize<T>(ReadOnlySpan<T> row)
        where T : unmanaged, IBinaryInteger<T>
    {
        long size = VarintLength((ulong)row.Length) + row.Length;
        var i = 0;
        if (typeof(T) == typeof(int) && Vector256.IsHardwareAccelerated)
        {
            // One byte each, plus one for each 7 bits past the first 7 (a zigzag int32 takes at most five).
            ref var counts = ref Unsafe.As<T, int>(ref MemoryMarshal.GetReference(row));
            var extra = Vector256<uint>.Zero;
            for (; i <= row.Length - 8; i += 8)
            {
                var value = Vector256.LoadUnsafe(ref counts, (nuint)i);
                var zigzag = ((value << 1) ^ Vector256.ShiftRightArithmetic(value, 31)).AsUInt32();
                extra -= Vector256.GreaterThan(zigzag, Vector256.Create(0x7Fu)) + Vector256.GreaterThan(zigzag, Vector256.Create(0x3FFFu))
                    + Vector256.GreaterThan(zigzag, Vector256.Create(0x1F_FFFFu)) + Vector256.GreaterThan(zigzag, Vector256.Create(0xFFF_FFFFu));
            }

            for (var lane = 0; lane < Vector256<uint>.Count; lane++)
            {
                size += extra.GetElement(lane);
            }
        }

        for (; i < row.Length; i++)
        {
            size += VarintLength(ZigZag(long.CreateTruncating(row[i]))) - 1;
        }

        return size;
    }

    /// <summary>Bytes of the varint of <paramref name="value"/>.</summary>
    private static int VarintLength(ulong value) => value < 0x80 ? 1 : (70 - BitOperations.LeadingZeroCount(value)) / 7;

    /// <summary>Writes rows one after the other into bytes of the size measured before (one array, no copy, no pool).</summary>
    private struct Writer
    {
        private readonly int[] _lengths;
        private readonly int[] _starts;
        private readonly byte[] _bytes;
        private int _at;
        private int _row;

        public Writer(int[] lengths, long size)
        {
            _lengths = lengths;
            _starts = new int[lengths.Length];
            _bytes = GC.AllocateUninitializedArray<byte>(checked((int)size));
            _bytes[0] = Version;
            _at = 1 + WriteVarint((ulong)lengths.Length, _bytes.AsSpan(1));
        }

        /// <summary>Writes the next row (as long as its length says).</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Write<T>(ReadOnlySpan<T> row)
            where T : unmanaged, IBinaryInteger<T>
        {
            var bytes = _bytes;
            var at = _at + WriteVarint((ulong)row.Length, bytes.AsSpan(_at));
            _starts[_row++] = at;
            ref var target = ref MemoryMarshal.GetArrayDataReference(bytes);
            var i = 0;
            if (typeof(T) == typeof(int) && Avx512F.VL.IsSupported)
            {
                // A counter's int32 rows, eight counts at a time while all eight take one byte each (fine bins in the
                // tails of a distribution: most of them): zigzag, test and narrow in three vector steps.
                ref var counts = ref Unsafe.As<T, int>(ref MemoryMarshal.GetReference(row));
                for (; i <= row.Length - 8; i += 8)
                {
                    var value = Vector256.LoadUnsafe(ref counts, (nuint)i);
                    var zigzag = (value << 1) ^ Vector256.ShiftRightArithmetic(value, 31);
                    if (!Vector256.LessThanAll(zigzag.AsUInt32(), Vector256.Create(0x80u)))
                    {
                        // One count the long way, then eight at a time again.
                        at = WriteOne(long.CreateTruncating(row[i]), bytes, at);
                        i -= 7;
                        continue;
                    }

                    Unsafe.WriteUnaligned(ref Unsafe.Add(ref target, at), Avx512F.VL.ConvertToVector128Byte(zigzag).AsUInt64().ToScalar());
                    at += 8;
                }
            }

            for (; i < row.Length; i++)
            {
                at = WriteOne(long.CreateTruncating(row[i]), bytes, at);
            }

            _at = at;
        }

        /// <summary>The rows written; every byte measured was written.</summary>
        public readonly CompactCounts ToCounts() =>
            _at == _bytes.Length ? new CompactCounts(_bytes, _starts, _lengths) : throw new InvalidOperationException($"{_at} bytes written of {_bytes.Length} measured.");

        /// <summary>Writes one count at <paramref name="at"/>; where the next goes.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static int WriteOne(long count, byte[] bytes, int at)
        {
            // One or two bytes (every fine bin below 8,192) without a branch on which: both are written at once, the
            // second overwritten by the next count when the first was enough (so not at the very end of the bytes).
            var zigzag = ZigZag(count);
            if (zigzag < 0x4000 && at + 1 < bytes.Length)
            {
                var more = (uint)((ulong)(0x7FL - (long)zigzag) >> 63);
                Unsafe.WriteUnaligned(ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(bytes), at), (ushort)((zigzag & 0x7F) | (more << 7) | ((zigzag >> 7) << 8)));
                return at + 1 + (int)more;
            }

            return at + WriteVarint(zigzag, bytes.AsSpan(at));
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
