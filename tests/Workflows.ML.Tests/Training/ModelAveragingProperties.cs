using FsCheck;
using FsCheck.Xunit;
using Workflows.ML.Training;

namespace Workflows.ML.Tests.Training;

public sealed class ModelAveragingProperties
{
    [Property]
    public bool Merge_CopiesOfOneWorker_GiveThatWorkerExactly(NormalFloat[] weights, PositiveInt copies, PositiveInt rows)
    {
        var values = ToFloats(weights, minimumLength: 1);
        var start = TrainerState.FromParts(values.Length, 2, new float[values.Length], [0f], 0, 0, [0, 0]);
        var rowCount = 1 + (rows.Get % 100_000);
        var worker = TrainerState.FromParts(values.Length, 2, values, [values[0]], 3, rowCount, [rowCount, 0]);
        var workers = Enumerable.Repeat(worker, 1 + (copies.Get % 8)).ToArray();

        var merged = ModelAveraging.Merge(start, workers);

        return merged.Weights.SequenceEqual(values) && merged.Bias[0] == values[0] && merged.RowsSeen == (long)rowCount * workers.Length;
    }

    [Property]
    public bool Merge_AnyWorkers_EachWeightBetweenTheWorkersWeights(NonEmptyArray<NormalFloat> firstWeights, PositiveInt workerCount, int seed)
    {
        var featureCount = firstWeights.Get.Length;
        var random = new Random(seed);
        var start = TrainerState.FromParts(featureCount, 2, new float[featureCount], [0f], 0, 0, [0, 0]);
        var workers = new TrainerState[1 + (workerCount.Get % 6)];
        for (var k = 0; k < workers.Length; k++)
        {
            var weights = k == 0 ? ToFloats(firstWeights.Get, 1) : Enumerable.Range(0, featureCount).Select(_ => (float)((random.NextDouble() * 200) - 100)).ToArray();
            var rows = random.Next(1, 10_000);
            workers[k] = TrainerState.FromParts(featureCount, 2, weights, [0f], 1, rows, [rows, 0]);
        }

        var merged = ModelAveraging.Merge(start, workers);

        for (var j = 0; j < featureCount; j++)
        {
            var low = workers.Min(w => w.Weights[j]);
            var high = workers.Max(w => w.Weights[j]);
            if (merged.Weights[j] < low || merged.Weights[j] > high)
            {
                return false;
            }
        }

        return merged.RowsSeen == workers.Sum(w => w.RowsSeen) && merged.Steps == workers.Length;
    }

    private static float[] ToFloats(NormalFloat[] values, int minimumLength)
    {
        // NormalFloat is a finite double; the model stores floats, so keep them in a range a float holds.
        var result = values.Select(v => (float)Math.Clamp(v.Get, -1e30, 1e30)).ToArray();
        return result.Length >= minimumLength ? result : [1f];
    }
}
