namespace Workflows.ML.Training;

/// <summary>
/// One epoch over in-memory chunks the way the EpochTraining orchestration runs it: the epoch's shuffled chunk
/// order is split over K workers (<see cref="EpochPlan.WorkerChunks"/>), each trains a copy of the start state on
/// its chunks, and the copies are merged by <see cref="ModelAveraging.Merge"/>. With K = 1 the result is exactly
/// sequential training. The result depends on the seed and K only, never on thread timing.
/// </summary>
public static class DataParallelEpoch
{
    /// <summary>
    /// Trains epoch <paramref name="epoch"/> (from 0) from <paramref name="start"/>, which is not modified, running
    /// up to <paramref name="maxThreads"/> workers at once. <paramref name="chunks"/> are indexed by chunk index.
    /// </summary>
    public static TrainerState Run(
        TrainingOptions options,
        FeatureStandardization standardization,
        TrainerState start,
        int epoch,
        IReadOnlyList<TrainingChunk> chunks,
        int workers,
        int maxThreads = 1)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(start);
        ArgumentNullException.ThrowIfNull(chunks);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxThreads, 1);
        var plan = EpochPlan.WorkerChunks(options.Seed, epoch, chunks.Count, workers);
        var results = new TrainerState[workers];
        void TrainWorker(int worker)
        {
            var trainer = new LogisticRegressionTrainer(options, standardization);
            var state = start.Clone();
            foreach (var chunkIndex in plan[worker])
            {
                var chunk = chunks[chunkIndex];
                if (chunk.Index != chunkIndex)
                {
                    throw new ArgumentException($"Chunk at position {chunkIndex} says it is chunk {chunk.Index}; chunks must be in index order.", nameof(chunks));
                }

                trainer.TrainChunk(state, epoch, chunk.Index, chunk.Features.Span, chunk.Labels.Span, chunk.RowCount);
            }

            results[worker] = state;
        }

        if (maxThreads == 1)
        {
            for (var worker = 0; worker < workers; worker++)
            {
                TrainWorker(worker);
            }
        }
        else
        {
            try
            {
                Parallel.For(0, workers, new ParallelOptions { MaxDegreeOfParallelism = maxThreads }, TrainWorker);
            }
            catch (AggregateException exception) when (exception.InnerExceptions.Count >= 1)
            {
                // Callers expect the readable data error, not a wrapper around it.
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(exception.InnerExceptions[0]).Throw();
                throw;
            }
        }

        return workers == 1 ? results[0] : ModelAveraging.Merge(start, results);
    }
}
