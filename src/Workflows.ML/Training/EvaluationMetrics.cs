namespace Workflows.ML.Training;

/// <summary>Holdout metrics of a model.</summary>
/// <param name="Rows">Rows evaluated.</param>
/// <param name="Accuracy">Fraction of rows whose predicted class is the label.</param>
/// <param name="LogLoss">Mean negative log-likelihood of the label (probabilities clipped to [1e-15, 1 - 1e-15]).</param>
/// <param name="RocAuc">Area under the ROC curve: binary, or the macro average of one-vs-rest AUCs over the classes that
/// have both positive and negative rows; NaN when no class has both.</param>
public sealed record EvaluationMetrics(long Rows, double Accuracy, double LogLoss, double RocAuc);
