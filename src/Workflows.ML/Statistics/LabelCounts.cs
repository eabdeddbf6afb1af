using System.Globalization;
using Workflows.ML.Data;

namespace Workflows.ML.Statistics;

/// <summary>Counts label values of a chunk; keys are the invariant text of the value ("0", "1", "2.5"), "missing" for NaN.</summary>
internal static class LabelCounts
{
    public const string MissingKey = "missing";

    /// <summary>Class ids 0..SmallClasses-1 are counted in an array; any other value in a dictionary.</summary>
    private const int SmallClasses = 256;

    public static void Add(ChunkColumn label, Dictionary<string, long> into)
    {
        // Labels are nearly always small class ids: count those in a stack array (no hashing per row) and name
        // each distinct value once per chunk.
        Span<long> small = stackalloc long[SmallClasses];
        Dictionary<double, long>? other = null;
        long missing = 0;
        for (var row = 0; row < label.Length; row++)
        {
            var value = label[row];
            if (value is >= 0 and < SmallClasses && value == Math.Floor(value))
            {
                small[(int)value]++;
            }
            else if (double.IsNaN(value))
            {
                missing++;
            }
            else
            {
                other ??= [];
                other[value] = other.GetValueOrDefault(value) + 1;
            }
        }

        for (var id = 0; id < SmallClasses; id++)
        {
            if (small[id] > 0)
            {
                AddTo(into, id.ToString(CultureInfo.InvariantCulture), small[id]);
            }
        }

        foreach (var (value, count) in other ?? [])
        {
            AddTo(into, value.ToString("R", CultureInfo.InvariantCulture), count);
        }

        if (missing > 0)
        {
            AddTo(into, MissingKey, missing);
        }
    }

    public static void Merge(Dictionary<string, long> from, Dictionary<string, long> into)
    {
        foreach (var (key, count) in from)
        {
            AddTo(into, key, count);
        }
    }

    private static void AddTo(Dictionary<string, long> into, string key, long count) => into[key] = into.GetValueOrDefault(key) + count;
}
