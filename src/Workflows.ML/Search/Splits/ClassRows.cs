using Workflows.ML.Numerics;

namespace Workflows.ML.Search.Splits;

/// <summary>The rows of each class, each class's rows shuffled by a stream of the seed: what the stratified splits share.</summary>
internal static class ClassRows
{
    /// <summary>
    /// Row indices grouped by label (classes in ascending order; a label with no rows has an empty group), each group
    /// shuffled from (<paramref name="seed"/>, <paramref name="purpose"/>, class). Labels must be &gt;= 0.
    /// </summary>
    public static List<int>[] Shuffled(ReadOnlySpan<int> labels, long seed, ulong purpose)
    {
        if (labels.IsEmpty)
        {
            throw new ArgumentException("There are no rows to split.", nameof(labels));
        }

        var classCount = 0;
        for (var row = 0; row < labels.Length; row++)
        {
            if (labels[row] < 0)
            {
                throw new ArgumentException($"Row {row} has label {labels[row]}; labels are class indices 0..C-1.", nameof(labels));
            }

            classCount = Math.Max(classCount, labels[row] + 1);
        }

        var groups = new List<int>[classCount];
        for (var c = 0; c < classCount; c++)
        {
            groups[c] = [];
        }

        for (var row = 0; row < labels.Length; row++)
        {
            groups[labels[row]].Add(row);
        }

        for (var c = 0; c < classCount; c++)
        {
            var random = SplitMix64.For(unchecked((ulong)seed), purpose, 0, c);
            random.Shuffle(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(groups[c]));
        }

        return groups;
    }
}
