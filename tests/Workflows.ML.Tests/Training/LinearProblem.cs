using Workflows.ML.Training;

namespace Workflows.ML.Tests.Training;

/// <summary>
/// Test data with a fixed linear ground truth: raw features with per-feature offsets and scales (so standardization
/// matters), labels from a known weight vector (binary) or matrix (multinomial) plus a little noise.
/// </summary>
internal sealed class LinearProblem
{
    private LinearProblem(int featureCount, int classCount, float[] features, int[] labels)
    {
        FeatureCount = featureCount;
        ClassCount = classCount;
        Features = features;
        Labels = labels;
    }

    public int FeatureCount { get; }

    public int ClassCount { get; }

    public float[] Features { get; }

    public int[] Labels { get; }

    public int Rows => Labels.Length;

    public static LinearProblem Create(int rows, int featureCount, int classCount, int seed, double noise = 0.1)
    {
        // The ground truth is drawn from a fixed seed so train and holdout sets (other seeds) share one problem.
        var truthRandom = new Random(12345 + classCount);
        var outputs = classCount == 2 ? 1 : classCount;
        var truth = new double[outputs * featureCount];
        for (var i = 0; i < truth.Length; i++)
        {
            truth[i] = Gaussian(truthRandom);
        }

        var random = new Random(seed);
        var features = new float[rows * featureCount];
        var labels = new int[rows];
        var scores = new double[outputs];
        for (var row = 0; row < rows; row++)
        {
            Array.Clear(scores);
            for (var j = 0; j < featureCount; j++)
            {
                var z = Gaussian(random);
                features[(row * featureCount) + j] = (float)((z * (0.5 + (j % 3))) + (5.0 * j));
                for (var c = 0; c < outputs; c++)
                {
                    scores[c] += truth[(c * featureCount) + j] * z;
                }
            }

            for (var c = 0; c < outputs; c++)
            {
                scores[c] += noise * Gaussian(random);
            }

            labels[row] = outputs == 1 ? (scores[0] > 0 ? 1 : 0) : ArgMax(scores);
        }

        return new LinearProblem(featureCount, classCount, features, labels);
    }

    public TrainingChunk[] Chunks(int chunkRows)
    {
        var chunks = new TrainingChunk[(Rows + chunkRows - 1) / chunkRows];
        for (var i = 0; i < chunks.Length; i++)
        {
            var start = i * chunkRows;
            var count = Math.Min(chunkRows, Rows - start);
            chunks[i] = new TrainingChunk(i, Features.AsMemory(start * FeatureCount, count * FeatureCount), Labels.AsMemory(start, count), count);
        }

        return chunks;
    }

    /// <summary>Exact per-feature mean and population std of this data, standing in for the stats artifact.</summary>
    public FeatureStandardization Standardization()
    {
        var mean = new float[FeatureCount];
        var std = new float[FeatureCount];
        for (var j = 0; j < FeatureCount; j++)
        {
            double sum = 0;
            for (var row = 0; row < Rows; row++)
            {
                sum += Features[(row * FeatureCount) + j];
            }

            var m = sum / Rows;
            double squares = 0;
            for (var row = 0; row < Rows; row++)
            {
                var d = Features[(row * FeatureCount) + j] - m;
                squares += d * d;
            }

            mean[j] = (float)m;
            std[j] = (float)Math.Sqrt(squares / Rows);
        }

        return new FeatureStandardization(mean, std);
    }

    private static int ArgMax(double[] values)
    {
        var best = 0;
        for (var i = 1; i < values.Length; i++)
        {
            if (values[i] > values[best])
            {
                best = i;
            }
        }

        return best;
    }

    private static double Gaussian(Random random) =>
        Math.Sqrt(-2.0 * Math.Log(1.0 - random.NextDouble())) * Math.Cos(2.0 * Math.PI * random.NextDouble());
}
