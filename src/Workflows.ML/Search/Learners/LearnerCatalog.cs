namespace Workflows.ML.Search.Learners;

/// <summary>The learners a search can tune, by name.</summary>
public static class LearnerCatalog
{
    /// <summary>Gradient boosting: ML.NET FastTree (binary).</summary>
    public const string GradientBoosting = "gradient_boosting";

    /// <summary>Random forest: ML.NET FastForest (binary), Platt-calibrated.</summary>
    public const string RandomForest = "random_forest";

    /// <summary>LightGBM through ML.NET (binary; the native library ships in the LightGBM package for Linux, Windows and macOS).</summary>
    public const string LightGbm = "lightgbm";

    /// <summary>Our SGD logistic regression (binary or multinomial), resumable by epochs.</summary>
    public const string Sgd = "sgd_logistic";

    /// <summary>All learner names.</summary>
    public static IReadOnlyList<string> Names { get; } = [GradientBoosting, RandomForest, LightGbm, Sgd];

    /// <summary>The learner called <paramref name="name"/>; throws <see cref="ArgumentException"/> listing the names for an unknown one.</summary>
    public static ILearner Create(string name) => name switch
    {
        GradientBoosting => TreeLearner.GradientBoosting(),
        RandomForest => TreeLearner.RandomForest(),
        LightGbm => TreeLearner.LightGbm(),
        Sgd => new SgdLearner(),
        _ => throw new ArgumentException($"Unknown learner '{name}'; the learners are {string.Join(", ", Names)}.", nameof(name)),
    };
}
