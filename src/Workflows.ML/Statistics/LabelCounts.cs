using System.Globalization;
using Workflows.ML.Data;

namespace Workflows.ML.Statistics;

/// <summary>Counts label values of a chunk; keys are the invariant text of the value ("0", "1", "2.5"), "missing" for NaN.</summary>
internal static class LabelCounts
{
    public const string MissingKey = "missing";

    public static void Add(ChunkColumn label, Dictionary<string, long> into)
    {
        // Few distinct labels: count per double first (no string per row), name them once per chunk.
        var counts = new Dictionary<double, long>();
        long missing = 0;
        for (var row = 0; row < label.Length; row++)
        {
            var value = label[row];
            if (double.IsNaN(value))
            {
                missing++;
            }
            else
            {
                counts[value] = counts.GetValueOrDefault(value) + 1;
            }
        }

        foreach (var (value, count) in counts)
        {
            var key = value.ToString("R", CultureInfo.InvariantCulture);
            into[key] = into.GetValueOrDefault(key) + count;
        }

        if (missing > 0)
        {
            into[MissingKey] = into.GetValueOrDefault(MissingKey) + missing;
        }
    }

    public static void Merge(Dictionary<string, long> from, Dictionary<string, long> into)
    {
        foreach (var (key, count) in from)
        {
            into[key] = into.GetValueOrDefault(key) + count;
        }
    }
}
