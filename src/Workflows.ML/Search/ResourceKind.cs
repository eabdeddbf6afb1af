namespace Workflows.ML.Search;

/// <summary>The budget a successive-halving or ASHA rung grows.</summary>
public enum ResourceKind
{
    /// <summary>Training rows (scikit-learn's <c>resource='n_samples'</c>): a stratified subsample of that many rows.</summary>
    NSamples,

    /// <summary>Boosting iterations or trees (<c>n_estimators</c>) of a tree learner.</summary>
    NEstimators,

    /// <summary>SGD epochs of the logistic-regression learner; a promoted trial resumes from its checkpoint.</summary>
    Epochs,
}
