namespace Workflows.ML.Search.Metrics;

/// <summary>What a search maximizes, in scikit-learn's orientation: higher is better.</summary>
public enum ScoringMetric
{
    /// <summary>Fraction of rows whose most probable class is the label (scikit-learn's <c>accuracy</c>).</summary>
    Accuracy,

    /// <summary>Area under the ROC curve; macro one-vs-rest for more than two classes (<c>roc_auc</c> / <c>roc_auc_ovr</c>).</summary>
    RocAuc,

    /// <summary>Minus the mean log loss (<c>neg_log_loss</c>), so that higher is better.</summary>
    NegLogLoss,
}
