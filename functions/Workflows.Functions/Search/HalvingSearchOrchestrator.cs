using Microsoft.DurableTask;
using Workflows.ML.Search;
using Workflows.ML.Search.Asha;
using Workflows.ML.Search.Halving;
using Workflows.ML.Search.Space;
using Microsoft.Azure.Functions.Worker;

namespace Workflows.Functions.Search;

/// <summary>
/// A hyper-parameter search by successive halving (<c>mode: halving</c>, scikit-learn's
/// <c>HalvingRandomSearchCV</c>) or asynchronous successive halving (<c>mode: asha</c>). Every evaluation (one
/// candidate at one resource, all folds) is an activity; the scores live in the history, and every decision
/// (<see cref="SuccessiveHalving.SelectSurvivors"/>, <see cref="AshaScheduler.NextJob"/>) is a pure function of them,
/// so a replay decides the same. See docs/ml.md for the input and output.
/// </summary>
public static class HalvingSearchOrchestrator
{
    /// <summary>Registered name.</summary>
    public const string Name = "HalvingSearch";

    /// <summary>
    /// Validates the input before any activity (an invalid one fails the instance with the reason), describes the
    /// data and checks what depends on it before any evaluation, runs the search, and refits and registers the winner
    /// when a model name is given.
    /// </summary>
    [Function(Name)]
    public static async Task<SearchOutput> RunAsync([OrchestrationTrigger] TaskOrchestrationContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var input = context.GetInput<SearchInput>();
        ArgumentNullException.ThrowIfNull(input);
        input.Validate(input.Mode);
        var (data, max) = await SearchSteps.PrepareAsync(context, input);
        return input.Mode == SearchInput.AshaMode
            ? await RunAshaAsync(context, input, data, max)
            : await RunHalvingAsync(context, input, data, max);
    }

    private static async Task<SearchOutput> RunHalvingAsync(TaskOrchestrationContext context, SearchInput input, SearchDataSummary data, int max)
    {
        var plan = SuccessiveHalving.Plan(input.ToHalvingOptions(max), input.Folds, data.PresentClasses);
        SearchSteps.CheckSubsample(input, data, plan.MinResources);
        IReadOnlyList<Candidate> survivors = SearchSteps.Candidates(input, plan.NCandidates, new Resource(input.ResourceKind, max));
        var rounds = new List<HalvingRound>();
        var summaries = new List<RoundSummary>();
        IReadOnlyDictionary<int, string> checkpoints = new Dictionary<int, string>();
        for (var i = 0; i < plan.NIterations; i++)
        {
            var (round, written) = await SearchSteps.EvaluateRoundAsync(
                context, input, SearchInput.HalvingMode, data, i, plan.ResourcesAt(i), survivors, checkpoints, [.. summaries]);
            rounds.Add(round);
            var kept = SuccessiveHalving.SelectSurvivors(round.Scores, plan.KeepAfter(i));
            summaries.Add(SearchSteps.Summary(round, kept));
            survivors = [.. kept.Select(k => k.Candidate)];
            checkpoints = written;
        }

        var results = CvResults.Build(rounds);
        var best = results.Best;
        context.SetCustomStatus(new SearchStatus(SearchInput.HalvingMode, null, null, 0, 0, 0, [], summaries));
        var model = await SearchSteps.RefitAsync(
            context, input, SearchInput.HalvingMode, data, max, best.Params, SearchOutputs.Finite(best.MeanTestScore), results.NCandidates, results.NResources, best.CandidateIndex);
        return new SearchOutput(
            SearchInput.HalvingMode,
            CvResultsTable.From(results),
            results.NCandidates,
            results.NResources,
            best.CandidateIndex,
            best.Params,
            SearchOutputs.Finite(best.MeanTestScore),
            best.NResources,
            rounds.Sum(r => r.Scores.Count),
            Model: model);
    }

    private static async Task<SearchOutput> RunAshaAsync(TaskOrchestrationContext context, SearchInput input, SearchDataSummary data, int max)
    {
        var min = input.SmallestResource(data.PresentClasses);
        if (min > max)
        {
            throw new ArgumentException($"min_resources_={min} is greater than max_resources_={max}.");
        }

        var trials = input.FixedCandidates ?? (max / min);
        var options = new AshaOptions(min, max, (int)input.Factor, input.Brackets, trials);
        options.Validate();
        SearchSteps.CheckSubsample(input, data, min);
        var candidates = SearchSteps.Candidates(input, trials, new Resource(input.ResourceKind, max));

        var table = RungTable.Empty;
        var folds = new Dictionary<(int Trial, int Rung), IReadOnlyList<double>>();
        var running = new List<(Task<EvaluateCandidateOutput> Task, AshaJob Job)>();
        var evaluations = 0;
        string? firstFailure = null;

        // Bounded: the scheduler hands out each (trial, rung) once, and the loop ends when nothing is running.
#pragma warning disable DURABLE0011
        while (true)
#pragma warning restore DURABLE0011
        {
            while (running.Count < input.Parallelism)
            {
                var job = AshaScheduler.NextJob(table, options);
                if (job.Kind == AshaJobKind.None)
                {
                    break;
                }

                table = table.Begin(job);
                var evaluation = SearchSteps.Evaluation(input, data, candidates[job.Trial], job.Resource, job.ResumeFrom);
                running.Add((context.CallActivityAsync<EvaluateCandidateOutput>(EvaluateCandidateActivity.Name, evaluation), job));
                evaluations++;
            }

            SetStatus();
            if (running.Count == 0)
            {
                break;
            }

            var done = await Task.WhenAny(running.Select(r => r.Task));
            var finished = running.First(r => r.Task == done);
            _ = running.Remove(finished);
            IReadOnlyList<double> scores;
            string? checkpoint = null;
            try
            {
                var output = await done;
                scores = output.Scores();
                checkpoint = output.Checkpoint;
            }
            catch (TaskFailedException failure)
            {
                firstFailure ??= $"trial {finished.Job.Trial} {candidates[finished.Job.Trial]}: {failure.FailureDetails.ErrorMessage}";
                scores = [.. Enumerable.Repeat(double.NaN, input.Folds)];
            }

            folds[(finished.Job.Trial, finished.Job.Rung)] = scores;
            table = table.Complete(finished.Job.Trial, finished.Job.Rung, scores.Average(), checkpoint);
        }

        var bestEntry = AshaScheduler.Best(table);
        if (bestEntry is null || (firstFailure is not null && double.IsNaN(bestEntry.Score!.Value)))
        {
            throw new InvalidOperationException($"every ASHA evaluation failed; the first: {firstFailure}");
        }

        var results = CvResults.Build(Levels(table, candidates, folds));
        var bestCandidate = candidates[bestEntry.Trial];
        var bestScore = SearchOutputs.Finite(bestEntry.Score!.Value);
        var model = await SearchSteps.RefitAsync(
            context, input, SearchInput.AshaMode, data, max, bestCandidate.Parameters, bestScore, results.NCandidates, results.NResources, bestEntry.Trial);
        return new SearchOutput(
            SearchInput.AshaMode,
            CvResultsTable.From(results),
            results.NCandidates,
            results.NResources,
            bestEntry.Trial,
            bestCandidate.Parameters,
            bestScore,
            bestEntry.Resource,
            evaluations,
            RungRow.From(table),
            model);

        void SetStatus()
        {
            var best = table.Entries.Where(e => e.Score is not null)
                .GroupBy(e => e.Resource)
                .OrderBy(g => g.Key)
                .Select(g => g.OrderBy(e => double.IsNaN(e.Score!.Value) ? 1 : 0).ThenByDescending(e => e.Score).ThenBy(e => e.Trial).First())
                .Select(e => new ScoreSoFar(e.Trial, e.Resource, SearchOutputs.Finite(e.Score!.Value)));
            context.SetCustomStatus(new SearchStatus(
                SearchInput.AshaMode, null, null, table.TrialCount, table.Entries.Count - table.Running, table.Running, [.. best], []));
        }
    }

    /// <summary>
    /// The rung table as halving iterations: iteration k holds the scored entries whose resource is
    /// <c>r · η^k</c> (over all brackets), in trial order, up to the first level without a score.
    /// </summary>
    private static List<HalvingRound> Levels(RungTable table, IReadOnlyList<Candidate> candidates, Dictionary<(int Trial, int Rung), IReadOnlyList<double>> folds)
    {
        var rounds = new List<HalvingRound>();
        foreach (var level in table.Entries.Where(e => e.Score is not null).GroupBy(e => e.Bracket + e.Rung).OrderBy(g => g.Key))
        {
            if (level.Key != rounds.Count)
            {
                break;
            }

            var entries = level.OrderBy(e => e.Trial).ToList();
            rounds.Add(new HalvingRound(level.Key, entries[0].Resource, [.. entries.Select(e => new CandidateScore(candidates[e.Trial], folds[(e.Trial, e.Rung)]))]));
        }

        return rounds;
    }
}
