namespace Workflows.ML.Tests;

/// <summary>Deterministic test data from a seed.</summary>
internal static class TestData
{
    public static double[] Normal(int seed, int count, double mean, double std, double nanFraction = 0)
    {
        var random = new Random(seed);
        var values = new double[count];
        for (var i = 0; i < count; i++)
        {
            var u1 = 1.0 - random.NextDouble();
            var u2 = random.NextDouble();
            values[i] = random.NextDouble() < nanFraction
                ? double.NaN
                : mean + (std * Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
        }

        return values;
    }

    public static float[] ToFloat(double[] values) => Array.ConvertAll(values, v => (float)v);

    /// <summary>Cuts <paramref name="count"/> items into consecutive pieces at random points.</summary>
    public static List<(int Start, int Length)> RandomPieces(int seed, int count, int pieces)
    {
        var random = new Random(seed);
        var cuts = new SortedSet<int> { 0, count };
        while (cuts.Count < Math.Min(pieces + 1, count + 1))
        {
            cuts.Add(random.Next(1, count));
        }

        var list = cuts.ToList();
        var result = new List<(int, int)>();
        for (var i = 0; i + 1 < list.Count; i++)
        {
            result.Add((list[i], list[i + 1] - list[i]));
        }

        return result;
    }

    public static void Shuffle<T>(IList<T> items, int seed)
    {
        var random = new Random(seed);
        for (var i = items.Count - 1; i > 0; i--)
        {
            var j = random.Next(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }

    public static void AssertRelative(double expected, double actual, double tolerance, string what)
    {
        var error = Math.Abs(actual - expected) / Math.Max(Math.Abs(expected), double.Epsilon);
        Xunit.Assert.True(error <= tolerance, $"{what}: expected {expected:R}, got {actual:R} (relative error {error:E2} > {tolerance:E0})");
    }
}
