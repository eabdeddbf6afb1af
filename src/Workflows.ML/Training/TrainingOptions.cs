namespace Workflows.ML.Training;

/// <summary>Hyper-parameters of mini-batch SGD for logistic regression.</summary>
/// <param name="FeatureCount">Number of features per row.</param>
/// <param name="ClassCount">Number of classes: 2 trains a binary (sigmoid) model, more a multinomial (softmax) one; labels are 0..ClassCount-1.</param>
/// <param name="Schedule">Learning-rate schedule.</param>
/// <param name="LearningRate">Initial step size <c>eta0</c> (ignored by <see cref="LearningRateSchedule.Optimal"/>).</param>
/// <param name="PowerT">Exponent of <see cref="LearningRateSchedule.InverseScaling"/>.</param>
/// <param name="L2">L2 regularization strength <c>alpha</c> (weights only, not the bias).</param>
/// <param name="BatchSize">Rows per SGD step.</param>
/// <param name="Seed">Seed of the chunk and row shuffles.</param>
public sealed record TrainingOptions(
    int FeatureCount,
    int ClassCount,
    LearningRateSchedule Schedule = LearningRateSchedule.InverseScaling,
    float LearningRate = 0.1f,
    float PowerT = 0.5f,
    float L2 = 1e-4f,
    int BatchSize = 32,
    ulong Seed = 0)
{
    /// <summary>Weight rows of the model: 1 for binary (the class-1 logit), <see cref="ClassCount"/> for multinomial.</summary>
    public int OutputCount => ClassCount == 2 ? 1 : ClassCount;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid option.</summary>
    public void Validate()
    {
        Require(FeatureCount >= 1, $"FeatureCount must be at least 1 (was {FeatureCount}).");
        Require(ClassCount >= 2, $"ClassCount must be at least 2 (was {ClassCount}): logistic regression needs two classes.");
        Require(BatchSize >= 1, $"BatchSize must be at least 1 (was {BatchSize}).");
        Require(float.IsFinite(L2) && L2 >= 0, $"L2 must be a finite number >= 0 (was {L2}).");
        Require(float.IsFinite(PowerT) && PowerT >= 0, $"PowerT must be a finite number >= 0 (was {PowerT}).");
        Require(
            Schedule == LearningRateSchedule.Optimal || (float.IsFinite(LearningRate) && LearningRate > 0),
            $"LearningRate must be a finite number > 0 (was {LearningRate}).");
        Require(Schedule != LearningRateSchedule.Optimal || L2 > 0, "the Optimal learning-rate schedule needs L2 > 0.");
        Require(Enum.IsDefined(Schedule), $"unknown learning-rate schedule {Schedule}.");
    }

    private static void Require(bool condition, string message)
    {
        if (!condition)
        {
            throw new ArgumentException($"Invalid training options: {message}");
        }
    }
}
