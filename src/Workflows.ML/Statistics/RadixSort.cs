namespace Workflows.ML.Statistics;

/// <summary>
/// LSD radix sort of doubles (no NaN) by their bits, 8 bits per pass, skipping passes where every key has the same
/// digit (values widened from float32 have 29 zero low bits, so three of eight passes drop out). The quantile
/// sketch sorts a full level 0 for every <c>capacity</c> values it takes; a comparison sort there cost more than
/// decoding the data, this costs a few nanoseconds per value.
/// </summary>
internal static class RadixSort
{
    private const ulong SignBit = 0x8000_0000_0000_0000UL;

    [ThreadStatic]
    private static ulong[]? t_keys;

    [ThreadStatic]
    private static ulong[]? t_swap;

    public static void Sort(Span<double> values)
    {
        if (values.Length < 64)
        {
            values.Sort();
            return;
        }

        if (t_keys is null || t_keys.Length < values.Length)
        {
            t_keys = new ulong[values.Length];
            t_swap = new ulong[values.Length];
        }

        var source = t_keys.AsSpan(0, values.Length);
        var target = t_swap.AsSpan(0, values.Length);
        for (var i = 0; i < values.Length; i++)
        {
            source[i] = ToKey(values[i]);
        }

        Span<int> offsets = stackalloc int[256];
        for (var shift = 0; shift < 64; shift += 8)
        {
            offsets.Clear();
            foreach (var key in source)
            {
                offsets[(int)((key >> shift) & 0xFF)]++;
            }

            if (offsets[(int)((source[0] >> shift) & 0xFF)] == values.Length)
            {
                continue;
            }

            var running = 0;
            for (var digit = 0; digit < 256; digit++)
            {
                var count = offsets[digit];
                offsets[digit] = running;
                running += count;
            }

            foreach (var key in source)
            {
                target[offsets[(int)((key >> shift) & 0xFF)]++] = key;
            }

            var swap = source;
            source = target;
            target = swap;
        }

        for (var i = 0; i < values.Length; i++)
        {
            values[i] = FromKey(source[i]);
        }
    }

    /// <summary>Order-preserving map: negative doubles flip all bits, positive ones flip the sign bit.</summary>
    private static ulong ToKey(double value)
    {
        var bits = (ulong)BitConverter.DoubleToInt64Bits(value);
        return (bits & SignBit) != 0 ? ~bits : bits | SignBit;
    }

    private static double FromKey(ulong key) =>
        BitConverter.Int64BitsToDouble((long)((key & SignBit) != 0 ? key & ~SignBit : ~key));
}
