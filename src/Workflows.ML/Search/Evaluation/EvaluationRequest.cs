using System.Text.Json.Serialization;
using Workflows.ML.Search.Metrics;
using Workflows.ML.Search.Space;

namespace Workflows.ML.Search.Evaluation;

/// <summary>One evaluation of a candidate: what an activity receives.</summary>
/// <param name="Learner">A name of <see cref="Learners.LearnerCatalog"/>.</param>
/// <param name="Parameters">The candidate's hyper-parameters.</param>
/// <param name="Resource">The resource of this round or rung.</param>
/// <param name="Folds">Stratified cross-validation folds, at least 2.</param>
/// <param name="Metric">The score to report (higher is better).</param>
/// <param name="Seed">Seed of the subsample, the folds and the learner.</param>
public sealed record EvaluationRequest(
    string Learner,
    IReadOnlyDictionary<string, ParameterValue> Parameters,
    Resource Resource,
    int Folds = 5,
    [property: JsonConverter(typeof(JsonStringEnumConverter<ScoringMetric>))] ScoringMetric Metric = ScoringMetric.Accuracy,
    long Seed = 0);
