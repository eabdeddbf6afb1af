namespace Workflows.ML.Training;

/// <summary>
/// Merges the states of K data-parallel workers that each started from the same state and trained on disjoint
/// chunks: weights are averaged with each worker's row count as its weight, and the optimizer counters add up, so
/// the schedule continues as if one worker had seen every row.
/// </summary>
public static class ModelAveraging
{
    /// <summary>
    /// The merged state. <paramref name="workers"/> must be in worker order: the sum is taken in that order (in
    /// double precision), which keeps the result deterministic given the seed and K.
    /// </summary>
    public static TrainerState Merge(TrainerState start, IReadOnlyList<TrainerState> workers)
    {
        ArgumentNullException.ThrowIfNull(start);
        ArgumentNullException.ThrowIfNull(workers);
        if (workers.Count == 0)
        {
            throw new ArgumentException("Model averaging needs at least one worker state.", nameof(workers));
        }

        var merged = start.Clone();
        var weightSums = new double[merged.WeightsBuffer.Length];
        var biasSums = new double[merged.BiasBuffer.Length];
        long totalRows = 0;
        for (var k = 0; k < workers.Count; k++)
        {
            var worker = workers[k];
            worker.EnsureShape(start.FeatureCount, start.ClassCount);
            var rows = worker.RowsSeen - start.RowsSeen;
            if (rows < 0 || worker.Steps < start.Steps)
            {
                throw new ArgumentException($"Worker {k} did not start from the given start state (it has seen fewer rows).", nameof(workers));
            }

            totalRows += rows;
            merged.Steps += worker.Steps - start.Steps;
            for (var c = 0; c < merged.ClassCountsBuffer.Length; c++)
            {
                merged.ClassCountsBuffer[c] += worker.ClassCountsBuffer[c] - start.ClassCountsBuffer[c];
            }

            Accumulate(weightSums, worker.WeightsBuffer, rows);
            Accumulate(biasSums, worker.BiasBuffer, rows);
        }

        merged.RowsSeen += totalRows;
        if (totalRows > 0)
        {
            Divide(weightSums, totalRows, merged.WeightsBuffer);
            Divide(biasSums, totalRows, merged.BiasBuffer);
        }

        return merged;
    }

    private static void Accumulate(double[] sums, float[] values, long rows)
    {
        for (var i = 0; i < sums.Length; i++)
        {
            sums[i] += (double)values[i] * rows;
        }
    }

    private static void Divide(double[] sums, long rows, float[] destination)
    {
        for (var i = 0; i < sums.Length; i++)
        {
            destination[i] = (float)(sums[i] / rows);
        }
    }
}
