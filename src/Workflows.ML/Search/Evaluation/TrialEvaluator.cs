using Workflows.ML.Search.Learners;
using Workflows.ML.Search.Metrics;
using Workflows.ML.Search.Splits;

namespace Workflows.ML.Search.Evaluation;

/// <summary>
/// The body of an evaluation activity: checks the request before any work, takes the stratified subsample for an
/// <c>n_samples</c> resource, splits stratified folds, trains one model per fold (resuming from that fold's
/// checkpoint when one is given) and scores it on the fold's test rows.
/// </summary>
public static class TrialEvaluator
{
    /// <summary>Throws <see cref="ArgumentException"/> for an unknown learner, parameter or resource, too few folds, or a subsample larger than the data.</summary>
    public static ILearner Validate(EvaluationRequest request, int rowCount)
    {
        ArgumentNullException.ThrowIfNull(request);
        var learner = LearnerCatalog.Create(request.Learner);
        learner.Validate(request.Parameters, request.Resource);
        if (request.Folds < 2)
        {
            throw new ArgumentException($"Cross-validation needs at least 2 folds (was {request.Folds}).");
        }

        if (request.Resource.Kind == ResourceKind.NSamples && request.Resource.Amount > rowCount)
        {
            throw new ArgumentException($"n_samples={request.Resource.Amount} is more than the {rowCount} rows of the data.");
        }

        return learner;
    }

    /// <summary>Evaluates <paramref name="request"/> on <paramref name="data"/>; <paramref name="resumeFrom"/> holds one checkpoint per fold (or null).</summary>
    public static TrialEvaluation Evaluate(TrainingSet data, EvaluationRequest request, IReadOnlyList<byte[]?>? resumeFrom = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        var learner = Validate(request, data.RowCount);
        if (resumeFrom is not null && resumeFrom.Count != request.Folds)
        {
            throw new ArgumentException($"{resumeFrom.Count} checkpoints for {request.Folds} folds.", nameof(resumeFrom));
        }

        var rows = request.Resource.Kind == ResourceKind.NSamples && request.Resource.Amount < data.RowCount
            ? data.Select(StratifiedSubsample.Select(data.Labels, request.Resource.Amount, request.Seed))
            : data;
        var folds = StratifiedKFold.Split(rows.Labels, request.Folds, request.Seed);
        var scores = new double[folds.Count];
        var checkpoints = new byte[]?[folds.Count];
        for (var f = 0; f < folds.Count; f++)
        {
            var train = rows.Select(folds[f].Train);
            var test = rows.Select(folds[f].Test);
            var model = learner.Train(train, request.Parameters, request.Resource, request.Seed, resumeFrom?[f]);
            var probabilities = model.PredictProbabilities(test.Features, test.RowCount);
            scores[f] = ClassificationMetrics.Score(request.Metric, probabilities, model.ClassCount, test.Labels);
            checkpoints[f] = model.Checkpoint;
        }

        return new TrialEvaluation(scores, checkpoints);
    }
}
