using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask;
using Workflows.Functions.Orchestration;
using Workflows.ML.Data;
using Workflows.ML.Numerics;
using Workflows.ML.Statistics;

namespace Workflows.Functions.Statistics;

/// <summary>
/// Statistics of a dataset too big for one machine's memory: describe it once, fan out one activity per group of
/// chunks for the first pass (moments, labels, and quantile sketches with <see cref="QuantileMethod.Sketch"/>), merge
/// the partials with Chan's formula, fan out again for the histograms over the global ranges (fine ones, from which
/// the quantiles are read, with <see cref="QuantileMethod.Histogram"/>), merge, and write the stats artifact next to
/// the dataset.
/// <para>
/// One pass when the Parquet footers state the ranges: the first pass then also counts the histogram of every column
/// with a footer range over that range, and a column's counts are used only when the footers' range is exactly the
/// range the first pass found (<see cref="FirstPassHistograms"/>); only the other columns (no footer range, CSV, or a
/// footer that was not exact) go through the second pass. When some column has no footer range the first pass keeps
/// its decoded chunks in the worker's cache, so the second pass on the same worker decodes only what did not fit.
/// </para>
/// Every finished group is in history, so after a crash only unfinished groups run again.
/// </summary>
public sealed class ChunkedStatisticsOrchestrator(IDatasetStorage storage) : TaskOrchestrator<ChunkedStatisticsInput, ChunkedStatisticsOutput>
{
    /// <summary>Registered name.</summary>
    public const string Name = "ChunkedStatistics";

    /// <summary>The orchestrator as a function: <see cref="TaskFunctions.RunOrchestratorAsync{TOrchestrator, TInput, TOutput}"/>.</summary>
    [Function(Name)]
    public static Task<ChunkedStatisticsOutput> RunFunctionAsync([OrchestrationTrigger] TaskOrchestrationContext context, FunctionContext executionContext) =>
        TaskFunctions.RunOrchestratorAsync<ChunkedStatisticsOrchestrator, ChunkedStatisticsInput, ChunkedStatisticsOutput>(context, executionContext);

    public override async Task<ChunkedStatisticsOutput> RunAsync(TaskOrchestrationContext context, ChunkedStatisticsInput input)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(input, "input (dataset, labelColumn, columns, histogramBins, quantiles, chunksPerActivity)");
        input.Validate();
        storage.ValidatePath(input.Dataset, "dataset");
        var described = await context.CallActivityAsync<DescribedDataset>(
            DescribeDatasetActivity.Name, new DescribeDatasetInput(input.Dataset, input.LabelColumn, input.Columns, input.CsvChunkRows, input.Chunks));
        var dataset = Select(described.Dataset, input.Chunks);
        var groups = Group(dataset, input.ChunksPerActivity);
        var quantiles = input.QuantilesOrDefault;
        var sketchQuantiles = quantiles.Count > 0 && input.QuantileMethod == QuantileMethod.Sketch;
        var histogramQuantiles = quantiles.Count > 0 && !sketchQuantiles;
        int? sketchCapacity = sketchQuantiles ? input.SketchCapacity : null;

        var histogramsWanted = input.HistogramBins > 0 || histogramQuantiles;
        var bins = Math.Max(input.HistogramBins, 1);
        var subdivisions = histogramQuantiles ? HistogramQuantiles.SubdivisionsFor(bins, input.QuantileBins) : 1;

        // Footer ranges (none in histories from before they were read: then two passes, as then). The first pass
        // counts the histograms of the columns that have one, and keeps its chunks only when some column has none.
        var footerRanges = histogramsWanted && described.FooterRanges is { } ranges && ranges.Any(static r => r is not null) ? ranges : null;
        var keep = histogramsWanted && (footerRanges is null || footerRanges.Any(static r => r is null));
        var firstPass = new List<Task<FirstPassPartial>>(groups.Count);
        foreach (var group in groups)
        {
            var groupInput = footerRanges is null
                ? new ChunkGroupInput(group, described.Columns, sketchCapacity, KeepForSecondPass: keep)
                : new ChunkGroupInput(group, described.Columns, sketchCapacity, Bins: bins, Subdivisions: subdivisions, KeepForSecondPass: keep, HistogramRanges: footerRanges);
            firstPass.Add(context.CallActivityAsync<FirstPassPartial>(ComputeChunkMomentsActivity.Name, groupInput));
        }

        var partials = await new FanInProgress(context, "moments", dataset.Chunks.Count).WhenAllAsync(firstPass, static p => p.Rows, static p => p.Chunks);
        var merged = partials[0];
        for (var i = 1; i < partials.Length; i++)
        {
            merged.Merge(partials[i]);
        }

        // An all-NaN column has no mean or range: fail here, with its name, before the second pass.
        StatisticsReport.EnsureEveryColumnHasValues(merged);
        HistogramPartial? histograms = null;
        IReadOnlyList<int> secondPassColumns = [];
        if (histogramsWanted)
        {
            // Per column: the first pass's counts when its footer range was the values' exact range, else a second pass.
            secondPassColumns = FirstPassHistograms.SecondPassColumns(merged);
            HistogramPartial? secondPassHistograms = null;
            if (secondPassColumns.Count > 0)
            {
                var columns = new List<DatasetColumn>(secondPassColumns.Count);
                var columnRanges = new List<Moments>(secondPassColumns.Count);
                foreach (var column in secondPassColumns)
                {
                    columns.Add(described.Columns[column]);
                    columnRanges.Add(merged.Moments[column]);
                }

                // A subset of the columns: the chunks the first pass kept are found under all of them.
                var kept = keep && columns.Count < described.Columns.Count ? described.Columns : null;
                var secondPass = new List<Task<HistogramPartial>>(groups.Count);
                foreach (var group in groups)
                {
                    secondPass.Add(context.CallActivityAsync<HistogramPartial>(
                        ComputeChunkHistogramsActivity.Name,
                        new ChunkGroupInput(group, columns, Ranges: columnRanges, Bins: bins, Subdivisions: subdivisions, KeptColumns: kept)));
                }

                var histogramPartials = await new FanInProgress(context, "histograms", dataset.Chunks.Count).WhenAllAsync(secondPass, static _ => 0, static p => p.Chunks);
                secondPassHistograms = histogramPartials[0];
                for (var i = 1; i < histogramPartials.Length; i++)
                {
                    secondPassHistograms.Merge(histogramPartials[i]);
                }
            }

            histograms = FirstPassHistograms.Combine(merged, secondPassColumns, secondPassHistograms, bins, subdivisions);
        }

        var report = StatisticsReport.Build(
            input.Dataset, merged, histograms, quantiles, reportHistograms: input.HistogramBins > 0, chunkPositions: input.Chunks?.Order().ToList());
        var artifact = await context.CallActivityAsync<string>(WriteStatisticsArtifactActivity.Name, report);
        var passes = secondPassColumns.Count > 0 ? 2 : 1;
        context.SetCustomStatus(new
        {
            phase = "done",
            chunksDone = dataset.Chunks.Count,
            chunksTotal = dataset.Chunks.Count,
            rows = merged.Rows,
            passes,
            secondPassColumns = secondPassColumns.Count,
        });
        return new ChunkedStatisticsOutput(report, artifact, secondPassColumns.Select(c => described.Columns[c].Name).ToList());
    }

    /// <summary>The dataset restricted to the chunks at <paramref name="positions"/> (all when null), in dataset order.</summary>
    private static DatasetDescription Select(DatasetDescription dataset, IReadOnlyList<int>? positions)
    {
        if (positions is null)
        {
            return dataset;
        }

        var outside = positions.Where(p => p >= dataset.Chunks.Count).ToList();
        if (outside.Count > 0)
        {
            throw new ArgumentException(
                $"chunks {string.Join(", ", outside)} do not exist: dataset '{dataset.Root}' has {dataset.Chunks.Count} chunks (positions 0 to {dataset.Chunks.Count - 1}).");
        }

        return dataset with { Chunks = positions.Order().Select(p => dataset.Chunks[p]).ToList() };
    }

    private static List<DatasetDescription> Group(DatasetDescription dataset, int chunksPerActivity)
    {
        var groups = new List<DatasetDescription>();
        for (var start = 0; start < dataset.Chunks.Count; start += chunksPerActivity)
        {
            var chunks = new List<ChunkLocation>(chunksPerActivity);
            for (var i = start; i < Math.Min(start + chunksPerActivity, dataset.Chunks.Count); i++)
            {
                chunks.Add(dataset.Chunks[i]);
            }

            groups.Add(dataset with { Chunks = chunks });
        }

        return groups;
    }
}
