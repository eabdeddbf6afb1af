using Workflows.ML.Training;

namespace Workflows.Bench;

/// <summary>
/// In-memory stand-in for the dataset generator: standard-normal features, a fixed random linear model on the
/// first <c>informative</c> features (unit norm), label = sign(w·x + N(0, noise²)). Every chunk is drawn from the
/// same model, seeded by (seed, chunk), so holdout and training share one problem.
/// </summary>
internal sealed class SyntheticLinearData
{
    private readonly double[] _truth;
    private readonly int _features;
    private readonly double _noise;

    public SyntheticLinearData(int features, int informative, double noise, ulong seed)
    {
        _features = features;
        _noise = noise;
        _truth = new double[features];
        var random = new Random((int)(seed % int.MaxValue));
        double norm = 0;
        for (var j = 0; j < informative; j++)
        {
            _truth[j] = Gaussian(random);
            norm += _truth[j] * _truth[j];
        }

        for (var j = 0; j < informative; j++)
        {
            _truth[j] /= Math.Sqrt(norm);
        }
    }

    /// <summary><paramref name="rows"/> rows split into <paramref name="chunkCount"/> chunks, generated in parallel.</summary>
    public TrainingChunk[] Generate(int rows, int chunkCount, int seed)
    {
        var chunks = new TrainingChunk[chunkCount];
        Parallel.For(0, chunkCount, chunk =>
        {
            var start = (int)((long)rows * chunk / chunkCount);
            var count = (int)((long)rows * (chunk + 1) / chunkCount) - start;
            // Not HashCode.Combine: it is salted per process, and the data must be the same in every run.
            var random = new Random((seed * 1_000_003) + chunk);
            var features = new float[count * _features];
            var labels = new int[count];
            for (var row = 0; row < count; row++)
            {
                double score = 0;
                for (var j = 0; j < _features; j++)
                {
                    var x = Gaussian(random);
                    features[(row * _features) + j] = (float)x;
                    score += _truth[j] * x;
                }

                labels[row] = score + (_noise * Gaussian(random)) > 0 ? 1 : 0;
            }

            chunks[chunk] = new TrainingChunk(chunk, features, labels, count);
        });
        return chunks;
    }

    private static double Gaussian(Random random) =>
        Math.Sqrt(-2.0 * Math.Log(1.0 - random.NextDouble())) * Math.Cos(2.0 * Math.PI * random.NextDouble());
}
