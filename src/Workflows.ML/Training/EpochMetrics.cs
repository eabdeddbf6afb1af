namespace Workflows.ML.Training;

/// <summary>One point of the learning curve: the holdout metrics after an epoch.</summary>
/// <param name="Epoch">The epoch just completed, from 1.</param>
/// <param name="RowsSeen">Training rows seen in total after this epoch.</param>
/// <param name="Holdout">Holdout metrics of the model after this epoch.</param>
public sealed record EpochMetrics(int Epoch, long RowsSeen, EvaluationMetrics Holdout);
