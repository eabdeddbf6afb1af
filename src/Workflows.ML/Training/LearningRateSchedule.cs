namespace Workflows.ML.Training;

/// <summary>How the SGD step size changes as training proceeds (the names follow scikit-learn's <c>SGDClassifier</c>).</summary>
public enum LearningRateSchedule
{
    /// <summary><c>eta = eta0</c> for every step.</summary>
    Constant,

    /// <summary><c>eta = eta0 / t^power_t</c>, where <c>t</c> is one plus the number of SGD steps taken before this one.</summary>
    InverseScaling,

    /// <summary>
    /// <c>eta = 1 / (alpha * (t0 + t))</c> with <c>alpha</c> the L2 strength and <c>t0</c> chosen by Bottou's heuristic
    /// as in scikit-learn; needs <c>L2 &gt; 0</c>.
    /// </summary>
    Optimal,
}
