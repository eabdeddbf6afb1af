using Workflows.ML.Search.Learners;

namespace Workflows.ML.Tests.Search;

/// <summary>Small separable binary data: label 1 when x0 + 0.5 · x1 plus a little noise is positive; x2 is noise.</summary>
internal static class SearchData
{
    public static TrainingSet Binary(int rows, int seed = 1)
    {
        var random = new Random(seed);
        var features = new float[rows * 3];
        var labels = new int[rows];
        for (var r = 0; r < rows; r++)
        {
            for (var f = 0; f < 3; f++)
            {
                features[(r * 3) + f] = (float)((random.NextDouble() * 2) - 1);
            }

            var signal = features[r * 3] + (0.5 * features[(r * 3) + 1]) + (0.2 * (random.NextDouble() - 0.5));
            labels[r] = signal > 0 ? 1 : 0;
        }

        return new TrainingSet(features, labels, 3, 2);
    }
}
