using Workflows.ML.Generation;
using Xunit;

namespace Workflows.ML.Tests;

public sealed class ClassificationGeneratorTests
{
    private static readonly ClassificationSpec Problem = new(Features: 10, Informative: 4, Redundant: 2, ClustersPerClass: 1, ClassSeparation: 1.5, FlipY: 0.01, Seed: 42);

    [Fact]
    public void GenerateChunk_SameSeedAndChunk_GivesSameRowsOnAnyGenerator()
    {
        var first = new ClassificationGenerator(Problem).GenerateChunk(7, 300);
        var second = new ClassificationGenerator(Problem).GenerateChunk(7, 300);

        Assert.Equal(first.Labels, second.Labels);
        for (var f = 0; f < first.Features.Count; f++)
        {
            Assert.Equal(first.Features[f], second.Features[f]);
        }
    }

    [Fact]
    public void GenerateChunk_OtherChunk_GivesOtherRows()
    {
        var generator = new ClassificationGenerator(Problem);

        Assert.NotEqual(generator.GenerateChunk(0, 100).Features[0], generator.GenerateChunk(1, 100).Features[0]);
    }

    [Fact]
    public void GenerateChunk_ModelFittedOnChunk0_ScoresWellOnChunk1()
    {
        var generator = new ClassificationGenerator(Problem);
        var model = NearestCentroid.Fit(generator.GenerateChunk(0, 2000), Problem.Classes);

        var accuracy = model.Accuracy(generator.GenerateChunk(1, 2000));

        Assert.True(accuracy > 0.85, $"accuracy on chunk 1 was {accuracy:F3}");
    }

    [Fact]
    public void GenerateChunk_ChunkOfAnotherProblem_ScoresPoorly()
    {
        // The mistake the shared model avoids: a fresh random problem per chunk (here, the chunk-1 seed used for the
        // model too). The same nearest-centroid check must then fail, which shows the check above can fail.
        var model = NearestCentroid.Fit(new ClassificationGenerator(Problem).GenerateChunk(0, 2000), Problem.Classes);
        var otherProblem = new ClassificationGenerator(Problem with { Seed = Problem.Seed + 1 });

        var accuracy = model.Accuracy(otherProblem.GenerateChunk(1, 2000));

        Assert.True(accuracy < 0.7, $"accuracy on a different problem was {accuracy:F3}");
    }

    [Fact]
    public void GenerateChunk_NoiseFeaturesAndLabels_HaveMakeClassificationMoments()
    {
        var spec = Problem with { Informative = 2, Redundant = 0, Features = 3, FlipY = 0 };
        var generator = new ClassificationGenerator(spec);
        var chunk = generator.GenerateChunk(0, 20_000);
        var informative = new HashSet<int>();
        var noise = -1;
        for (var f = 0; f < 3; f++)
        {
            var mean = chunk.Features[f].Average();
            var variance = chunk.Features[f].Average(v => (v - mean) * (v - mean));
            var correlatesWithLabel = Math.Abs(chunk.Features[f].Select((v, i) => v * ((2 * chunk.Labels[i]) - 1)).Average()) > 0.3;
            if (correlatesWithLabel || variance > 1.5)
            {
                informative.Add(f);
            }
            else
            {
                noise = f;
                Assert.InRange(mean, -0.05, 0.05);
                Assert.InRange(variance, 0.95, 1.05);
            }
        }

        Assert.Equal(2, informative.Count);
        Assert.NotEqual(-1, noise);
        Assert.InRange(chunk.Labels.Average(), 0.45, 0.55);
    }

    [Fact]
    public void Constructor_TooManyClustersForInformative_ThrowsReadable()
    {
        var error = Assert.Throws<ArgumentException>(() => new ClassificationGenerator(new ClassificationSpec(Features: 4, Informative: 1, Redundant: 0, Classes: 2, ClustersPerClass: 2)));

        Assert.Contains("must be at most 2^informative", error.Message, StringComparison.Ordinal);
    }

    /// <summary>The simplest classifier: each class's mean, nearest mean wins.</summary>
    private sealed class NearestCentroid(double[][] centroids)
    {
        public static NearestCentroid Fit(GeneratedChunk chunk, int classes)
        {
            var features = chunk.Features.Count;
            var sums = new double[classes][];
            var counts = new int[classes];
            for (var c = 0; c < classes; c++)
            {
                sums[c] = new double[features];
            }

            for (var row = 0; row < chunk.RowCount; row++)
            {
                var label = chunk.Labels[row];
                counts[label]++;
                for (var f = 0; f < features; f++)
                {
                    sums[label][f] += chunk.Features[f][row];
                }
            }

            for (var c = 0; c < classes; c++)
            {
                for (var f = 0; f < features; f++)
                {
                    sums[c][f] /= counts[c];
                }
            }

            return new NearestCentroid(sums);
        }

        public double Accuracy(GeneratedChunk chunk)
        {
            var correct = 0;
            for (var row = 0; row < chunk.RowCount; row++)
            {
                var best = 0;
                var bestDistance = double.MaxValue;
                for (var c = 0; c < centroids.Length; c++)
                {
                    double distance = 0;
                    for (var f = 0; f < centroids[c].Length; f++)
                    {
                        var d = chunk.Features[f][row] - centroids[c][f];
                        distance += d * d;
                    }

                    if (distance < bestDistance)
                    {
                        bestDistance = distance;
                        best = c;
                    }
                }

                correct += best == chunk.Labels[row] ? 1 : 0;
            }

            return (double)correct / chunk.RowCount;
        }
    }
}
