using System.Globalization;
using System.Text.Json;
using Microsoft.DurableTask;
using Workflows.ML.Search;
using Workflows.ML.Search.Evaluation;
using Workflows.ML.Search.Halving;
using Workflows.ML.Search.Learners;
using Workflows.ML.Search.Space;
using Workflows.ML.Search.Splits;

namespace Workflows.Functions.Search;

/// <summary>
/// The steps the search orchestrators share. Everything here is a pure function of the input and of activity
/// results, so a replay reaches the same decisions.
/// </summary>
internal static class SearchSteps
{
    /// <summary>Describes the data (one activity) and checks what depends on it; returns the summary and the resolved max resource.</summary>
    public static async Task<(SearchDataSummary Data, int MaxResources)> PrepareAsync(TaskOrchestrationContext context, SearchInput input)
    {
        var data = await context.CallActivityAsync<SearchDataSummary>(DescribeSearchDataActivity.Name, input.Data);
        return (data, CheckData(input, data));
    }

    /// <summary>
    /// Throws <see cref="ArgumentException"/> when the data cannot carry the search: fewer than two classes, fewer rows
    /// of a class than folds, or more <c>n_samples</c> than rows. Returns the max resource (the rows by default).
    /// </summary>
    public static int CheckData(SearchInput input, SearchDataSummary data)
    {
        if (data.PresentClasses < 2)
        {
            throw new ArgumentException($"label column '{input.LabelColumn}' has a single class; a search needs at least two.");
        }

        var (smallestClass, smallestRows) = data.ClassCounts.Select((rows, label) => (label, rows)).Where(c => c.rows > 0).MinBy(c => c.rows);
        if (smallestRows < input.Folds)
        {
            throw new ArgumentException($"{input.Folds} folds need at least {input.Folds} rows of every class; class {smallestClass} has {smallestRows}.");
        }

        var max = input.MaxResources ?? data.Rows;
        if (input.ResourceKind == ResourceKind.NSamples && max > data.Rows)
        {
            throw new ArgumentException($"maxResources={max} n_samples is more than the {data.Rows} rows of the data.");
        }

        return max;
    }

    /// <summary>
    /// Throws <see cref="ArgumentException"/> when a stratified subsample of <paramref name="rows"/> rows (an
    /// <c>n_samples</c> resource) would leave a class with fewer rows than folds.
    /// </summary>
    public static void CheckSubsample(SearchInput input, SearchDataSummary data, int rows)
    {
        if (input.ResourceKind != ResourceKind.NSamples || rows >= data.Rows)
        {
            return;
        }

        var labels = new int[data.Rows];
        var at = 0;
        for (var label = 0; label < data.ClassCounts.Count; label++)
        {
            labels.AsSpan(at, data.ClassCounts[label]).Fill(label);
            at += data.ClassCounts[label];
        }

        var counts = new int[data.ClassCounts.Count];
        foreach (var row in StratifiedSubsample.Select(labels, rows, input.Seed))
        {
            counts[labels[row]]++;
        }

        for (var label = 0; label < counts.Length; label++)
        {
            if ((counts[label] > 0 && counts[label] < input.Folds) || (counts[label] == 0 && data.ClassCounts[label] > 0))
            {
                throw new ArgumentException(
                    $"a stratified subsample of {rows} rows (the smallest resource) holds {counts[label]} rows of class {label}, fewer than the {input.Folds} folds; raise minResources.");
            }
        }
    }

    /// <summary>The candidates 0..<paramref name="count"/>-1, each checked against the learner at <paramref name="resource"/>.</summary>
    public static IReadOnlyList<Candidate> Candidates(SearchInput input, int count, Resource resource)
    {
        var learner = LearnerCatalog.Create(input.Learner);
        var candidates = input.Space.Sample(input.Seed, count);
        foreach (var candidate in candidates)
        {
            try
            {
                learner.Validate(candidate.Parameters, resource);
            }
            catch (ArgumentException exception)
            {
                throw new ArgumentException($"candidate {candidate.Index} {candidate}: {exception.Message}", exception);
            }
        }

        return candidates;
    }

    /// <summary>The evaluation activity's input for <paramref name="candidate"/> at <paramref name="resource"/>.</summary>
    public static EvaluateCandidateInput Evaluation(SearchInput input, SearchDataSummary data, Candidate candidate, int resource, string? resumeFrom)
    {
        var kind = input.ResourceKind;
        var request = new EvaluationRequest(input.Learner, candidate.Parameters, new Resource(kind, resource), input.Folds, input.ScoringMetric, input.Seed);

        // Only epochs resume (SGD); a checkpoint of another resource would be refused, so none is written.
        var checkpoint = kind == ResourceKind.Epochs
            ? string.Create(CultureInfo.InvariantCulture, $"{data.RunFolder}/candidate-{candidate.Index:D5}-{resource}.json")
            : null;
        return new EvaluateCandidateInput(input.Data, request, resumeFrom, checkpoint);
    }

    /// <summary>
    /// Runs one round: every candidate at <paramref name="resource"/>, all in flight, the status updated as each
    /// finishes. A failed evaluation scores NaN (scikit-learn's <c>error_score=nan</c>); a round where every
    /// evaluation failed fails the search with the first failure's reason.
    /// </summary>
    public static async Task<(HalvingRound Round, IReadOnlyDictionary<int, string> Checkpoints)> EvaluateRoundAsync(
        TaskOrchestrationContext context,
        SearchInput input,
        string mode,
        SearchDataSummary data,
        int iteration,
        int resource,
        IReadOnlyList<Candidate> candidates,
        IReadOnlyDictionary<int, string> resumeFrom,
        IReadOnlyList<RoundSummary> finished)
    {
        var tasks = candidates
            .Select(c => context.CallActivityAsync<EvaluateCandidateOutput>(
                EvaluateCandidateActivity.Name, Evaluation(input, data, c, resource, resumeFrom.GetValueOrDefault(c.Index))))
            .ToList();
        var scores = new CandidateScore?[candidates.Count];
        var checkpoints = new Dictionary<int, string>();
        var soFar = new List<ScoreSoFar>();
        var pending = new List<Task<EvaluateCandidateOutput>>(tasks);
        string? firstFailure = null;
        SetStatus();
        while (pending.Count > 0)
        {
            var done = await Task.WhenAny(pending);
            _ = pending.Remove(done);
            var position = tasks.IndexOf(done);
            var candidate = candidates[position];
            IReadOnlyList<double> folds;
            try
            {
                var output = await done;
                folds = output.Scores();
                if (output.Checkpoint is not null)
                {
                    checkpoints[candidate.Index] = output.Checkpoint;
                }
            }
            catch (TaskFailedException failure)
            {
                firstFailure ??= $"candidate {candidate.Index} {candidate}: {failure.FailureDetails.ErrorMessage}";
                folds = [.. Enumerable.Repeat(double.NaN, input.Folds)];
            }

            scores[position] = new CandidateScore(candidate, folds);
            soFar.Add(new ScoreSoFar(candidate.Index, resource, SearchOutputs.Finite(scores[position]!.Mean)));
            SetStatus();
        }

        if (firstFailure is not null && scores.All(s => double.IsNaN(s!.Mean)))
        {
            throw new InvalidOperationException($"every evaluation of iteration {iteration} failed; the first: {firstFailure}");
        }

        return (new HalvingRound(iteration, resource, [.. scores.Select(s => s!)]), checkpoints);

        void SetStatus() => context.SetCustomStatus(
            new SearchStatus(mode, iteration, resource, candidates.Count, soFar.Count, pending.Count, [.. soFar], finished));
    }

    /// <summary>The summary of a finished round for the status.</summary>
    public static RoundSummary Summary(HalvingRound round, IReadOnlyList<CandidateScore> kept)
    {
        var best = SuccessiveHalving.SelectSurvivors(round.Scores, 1)[0];
        return new RoundSummary(round.Iteration, round.NResources, round.Scores.Count, best.Candidate.Index, SearchOutputs.Finite(best.Mean), [.. kept.Select(k => k.Candidate.Index)]);
    }

    /// <summary>Fits the winner on all rows and registers it when the input names a model; null otherwise.</summary>
    public static async Task<SearchModelReference?> RefitAsync(
        TaskOrchestrationContext context,
        SearchInput input,
        string mode,
        SearchDataSummary data,
        int maxResources,
        IReadOnlyDictionary<string, ParameterValue> best,
        double? bestScore,
        IReadOnlyList<int> nCandidates,
        IReadOnlyList<int> nResources,
        int bestCandidate)
    {
        if (input.ModelName is null)
        {
            return null;
        }

        var metrics = new Dictionary<string, double>(StringComparer.Ordinal)
        {
            ["iterations"] = nResources.Count,
            ["evaluatedCandidates"] = nCandidates.Count > 0 ? nCandidates[0] : 0,
        };
        if (bestScore is { } score)
        {
            metrics["cv_" + input.Metric] = score;
        }

        var lineage = new SortedDictionary<string, string>(StringComparer.Ordinal)
        {
            ["search"] = mode,
            ["learner"] = input.Learner,
            ["labelColumn"] = input.LabelColumn,
            ["features"] = input.Features is { Count: > 0 } ? string.Join(',', input.Features) : "all",
            ["space"] = JsonSerializer.Serialize(input.Space),
            ["seed"] = input.Seed.ToString(CultureInfo.InvariantCulture),
            ["factor"] = input.Factor.ToString("R", CultureInfo.InvariantCulture),
            ["resource"] = Resource.NameOf(input.ResourceKind),
            ["minResources"] = input.MinResources,
            ["maxResources"] = maxResources.ToString(CultureInfo.InvariantCulture),
            ["aggressiveElimination"] = input.AggressiveElimination ? "true" : "false",
            ["folds"] = input.Folds.ToString(CultureInfo.InvariantCulture),
            ["metric"] = input.Metric,
            ["nCandidates"] = string.Join(',', nCandidates.Select(n => n.ToString(CultureInfo.InvariantCulture))),
            ["nResources"] = string.Join(',', nResources.Select(n => n.ToString(CultureInfo.InvariantCulture))),
            ["bestCandidate"] = bestCandidate.ToString(CultureInfo.InvariantCulture),
            ["bestParams"] = "{" + string.Join(", ", best.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key}: {p.Value}")) + "}",
        };
        var resource = input.ResourceKind == ResourceKind.NSamples
            ? new Resource(ResourceKind.NSamples, data.Rows)
            : new Resource(input.ResourceKind, maxResources);
        return await context.CallActivityAsync<SearchModelReference>(
            RefitAndRegisterActivity.Name,
            new RefitInput(input.Data, input.Learner, best, resource, input.Seed, input.ModelName, metrics, lineage));
    }
}
