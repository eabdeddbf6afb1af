namespace Workflows.ML.Training;

/// <summary>
/// Everything SGD needs to continue where it stopped: the weights in standardized feature space and the optimizer
/// state (steps taken, rows seen, rows per class). Mutated by <see cref="LogisticRegressionTrainer.TrainChunk"/>;
/// <see cref="Clone"/> before handing one start state to several workers.
/// </summary>
public sealed class TrainerState
{
    internal TrainerState(int featureCount, int classCount, float[] weights, float[] bias, long steps, long rowsSeen, long[] classCounts)
    {
        FeatureCount = featureCount;
        ClassCount = classCount;
        WeightsBuffer = weights;
        BiasBuffer = bias;
        Steps = steps;
        RowsSeen = rowsSeen;
        ClassCountsBuffer = classCounts;
    }

    /// <summary>Features per row.</summary>
    public int FeatureCount { get; }

    /// <summary>Number of classes (2 = binary).</summary>
    public int ClassCount { get; }

    /// <summary>Weight rows: 1 for binary, <see cref="ClassCount"/> for multinomial.</summary>
    public int OutputCount => BiasBuffer.Length;

    /// <summary>Weights, <see cref="OutputCount"/> rows of <see cref="FeatureCount"/>, row-major, on standardized features.</summary>
    public ReadOnlySpan<float> Weights => WeightsBuffer;

    /// <summary>One bias per output.</summary>
    public ReadOnlySpan<float> Bias => BiasBuffer;

    /// <summary>SGD steps (mini-batches) taken so far (drives the learning-rate schedule).</summary>
    public long Steps { get; internal set; }

    /// <summary>Rows trained on so far (weights the model averaging).</summary>
    public long RowsSeen { get; internal set; }

    /// <summary>Rows trained on per class, to detect single-class data.</summary>
    public ReadOnlySpan<long> ClassCounts => ClassCountsBuffer;

    internal float[] WeightsBuffer { get; }

    internal float[] BiasBuffer { get; }

    internal long[] ClassCountsBuffer { get; }

    /// <summary>The state before any training: zero weights (the loss is convex, so no random start is needed).</summary>
    public static TrainerState CreateInitial(TrainingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        return new TrainerState(
            options.FeatureCount,
            options.ClassCount,
            new float[options.OutputCount * options.FeatureCount],
            new float[options.OutputCount],
            steps: 0,
            rowsSeen: 0,
            new long[options.ClassCount]);
    }

    /// <summary>Restores a state from its parts (as stored in a checkpoint); arrays are copied.</summary>
    public static TrainerState FromParts(
        int featureCount,
        int classCount,
        ReadOnlySpan<float> weights,
        ReadOnlySpan<float> bias,
        long steps,
        long rowsSeen,
        ReadOnlySpan<long> classCounts)
    {
        var outputCount = classCount == 2 ? 1 : classCount;
        if (featureCount < 1 || classCount < 2 || weights.Length != outputCount * featureCount || bias.Length != outputCount
            || classCounts.Length != classCount || steps < 0 || rowsSeen < 0)
        {
            throw new ArgumentException(
                $"Inconsistent trainer state: {featureCount} features, {classCount} classes, {weights.Length} weights, "
                + $"{bias.Length} biases, {classCounts.Length} class counts, steps {steps}, rows {rowsSeen}.");
        }

        return new TrainerState(featureCount, classCount, weights.ToArray(), bias.ToArray(), steps, rowsSeen, classCounts.ToArray());
    }

    /// <summary>A deep copy.</summary>
    public TrainerState Clone() =>
        new(FeatureCount, ClassCount, (float[])WeightsBuffer.Clone(), (float[])BiasBuffer.Clone(), Steps, RowsSeen, (long[])ClassCountsBuffer.Clone());

    /// <summary>
    /// Throws <see cref="TrainingDataException"/> when fewer than two classes occurred in the rows trained on, which
    /// single chunks may legitimately show but a whole epoch must not.
    /// </summary>
    public void EnsureSeveralClassesSeen()
    {
        var present = 0;
        var onlyClass = -1;
        for (var c = 0; c < ClassCountsBuffer.Length; c++)
        {
            if (ClassCountsBuffer[c] > 0)
            {
                present++;
                onlyClass = c;
            }
        }

        if (present < 2)
        {
            throw new TrainingDataException(present == 0
                ? "The training data has no rows."
                : $"The training data has a single class: all {RowsSeen} rows have label {onlyClass}. Logistic regression needs at least two classes.");
        }
    }

    internal void EnsureShape(int featureCount, int classCount)
    {
        if (FeatureCount != featureCount || ClassCount != classCount)
        {
            throw new ArgumentException(
                $"The trainer state has {FeatureCount} features and {ClassCount} classes; the trainer expects {featureCount} and {classCount}.");
        }
    }
}
