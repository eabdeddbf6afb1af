using System.Numerics.Tensors;

namespace Workflows.ML.Training;

/// <summary>
/// Mini-batch SGD for logistic regression (binary sigmoid or multinomial softmax) on standardized features, one
/// chunk at a time. Rows of a chunk are visited in an order shuffled from (seed, epoch, chunk), so a chunk trained
/// again after a crash, on any worker with the same kind of CPU, gives bit-identical weights (TensorPrimitives
/// sums in another order on AVX-512 than on AVX2). Not thread-safe: one trainer per worker; it owns its scratch
/// buffers so the hot loop allocates nothing.
/// </summary>
/// <remarks>
/// Missing values: a NaN feature is imputed with the feature mean (0 after standardization), in training and in
/// scoring alike (and in the exported ONNX graph); an infinite feature is rejected with its chunk, row and column.
/// An exception from <see cref="TrainChunk"/> may leave the state partly updated: restart from the last checkpoint.
/// </remarks>
public sealed class LogisticRegressionTrainer
{
    private readonly FeatureStandardization _standardization;
    private readonly float[] _scaledWeights;
    private readonly float[] _foldedBias;
    private readonly float[] _gradient;
    private readonly float[] _gradientSum;
    private readonly float[] _logits;
    private readonly float[] _rowScratch;
    private readonly double _optimalOffset;
    private int[] _rowOrder = [];

    /// <summary>Creates a trainer; the standardization must cover exactly <see cref="TrainingOptions.FeatureCount"/> features.</summary>
    public LogisticRegressionTrainer(TrainingOptions options, FeatureStandardization standardization)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(standardization);
        options.Validate();
        if (standardization.FeatureCount != options.FeatureCount)
        {
            throw new ArgumentException(
                $"The standardization has {standardization.FeatureCount} features; the training options have {options.FeatureCount}.");
        }

        Options = options;
        _standardization = standardization;
        var outputs = options.OutputCount;
        _scaledWeights = new float[outputs * options.FeatureCount];
        _gradient = new float[outputs * options.FeatureCount];
        _gradientSum = new float[outputs];
        _foldedBias = new float[outputs];
        _logits = new float[outputs];
        _rowScratch = new float[options.FeatureCount];

        // scikit-learn's "optimal" schedule: t0 from Bottou's heuristic for a typical weight of 1/sqrt(sqrt(alpha)).
        if (options.Schedule == LearningRateSchedule.Optimal)
        {
            var typicalWeight = Math.Sqrt(1.0 / Math.Sqrt(options.L2));
            _optimalOffset = 1.0 / (typicalWeight * options.L2);
        }
    }

    /// <summary>The hyper-parameters.</summary>
    public TrainingOptions Options { get; }

    /// <summary>
    /// The step size of the next step after <paramref name="steps"/> steps. The schedules count mini-batch steps
    /// (scikit-learn counts rows, which is the same at batch size 1), so a larger batch does not decay faster.
    /// </summary>
    public float LearningRateAt(long steps) => Options.Schedule switch
    {
        LearningRateSchedule.Constant => Options.LearningRate,
        LearningRateSchedule.InverseScaling => (float)(Options.LearningRate / Math.Pow(steps + 1.0, Options.PowerT)),
        _ => (float)(1.0 / (Options.L2 * (_optimalOffset + steps))),
    };

    /// <summary>
    /// Trains <paramref name="state"/> on one chunk: <paramref name="rowCount"/> rows of row-major
    /// <paramref name="features"/> with class labels 0..ClassCount-1, in mini-batches, rows shuffled from
    /// (seed, <paramref name="epoch"/>, <paramref name="chunkIndex"/>).
    /// </summary>
    public void TrainChunk(TrainerState state, int epoch, int chunkIndex, ReadOnlySpan<float> features, ReadOnlySpan<int> labels, int rowCount)
    {
        ArgumentNullException.ThrowIfNull(state);
        state.EnsureShape(Options.FeatureCount, Options.ClassCount);
        ChunkValidation.Validate(Options.FeatureCount, Options.ClassCount, chunkIndex, features, labels, rowCount);
        for (var row = 0; row < rowCount; row++)
        {
            state.ClassCountsBuffer[labels[row]]++;
        }

        var order = RowOrder(epoch, chunkIndex, rowCount);
        for (var start = 0; start < rowCount; start += Options.BatchSize)
        {
            Step(state, order, start, Math.Min(Options.BatchSize, rowCount - start), chunkIndex, features, labels);
        }
    }

    private Span<int> RowOrder(int epoch, int chunkIndex, int rowCount)
    {
        if (_rowOrder.Length < rowCount)
        {
            _rowOrder = new int[rowCount];
        }

        var order = _rowOrder.AsSpan(0, rowCount);
        for (var i = 0; i < order.Length; i++)
        {
            order[i] = i;
        }

        DeterministicRandom.For(Options.Seed, EpochPlan.RowOrderStream, epoch, chunkIndex).Shuffle(order);
        return order;
    }

    /// <summary>One SGD step on the rows <c>order[start..start+count]</c>.</summary>
    private void Step(TrainerState state, ReadOnlySpan<int> order, int start, int count, int chunkIndex, ReadOnlySpan<float> features, ReadOnlySpan<int> labels)
    {
        var featureCount = Options.FeatureCount;
        var inverseStd = _standardization.InverseStd;
        var mean = _standardization.Mean;
        var weights = state.WeightsBuffer;
        var bias = state.BiasBuffer;
        var outputs = bias.Length;

        // Folding the standardization into the weights and bias once per step, W' = W / std and
        // b' = b - W'·mean, leaves two passes per row (a dot product and a gradient update) instead of four.
        for (var c = 0; c < outputs; c++)
        {
            var scaled = _scaledWeights.AsSpan(c * featureCount, featureCount);
            TensorPrimitives.Multiply(weights.AsSpan(c * featureCount, featureCount), inverseStd, scaled);
            _foldedBias[c] = bias[c] - TensorPrimitives.Dot(scaled, mean);
        }

        Array.Clear(_gradient);
        Array.Clear(_gradientSum);
        for (var k = start; k < start + count; k++)
        {
            if (k + RowPrefetch.Distance < order.Length)
            {
                RowPrefetch.Prefetch(features.Slice(order[k + RowPrefetch.Distance] * featureCount, featureCount));
            }

            var row = order[k];
            var input = features.Slice(row * featureCount, featureCount);
            if (outputs == 1)
            {
                AccumulateBinary(input, labels[row], chunkIndex, row);
            }
            else
            {
                AccumulateMultinomial(input, labels[row], chunkIndex, row);
            }
        }

        var rate = LearningRateAt(state.Steps);
        var decay = 1f - (rate * Options.L2);
        var scale = -rate / count;
        for (var c = 0; c < outputs; c++)
        {
            var gradient = _gradient.AsSpan(c * featureCount, featureCount);
            var w = weights.AsSpan(c * featureCount, featureCount);

            // Sum of g·x minus (sum of g)·mean is the sum of g·(x - mean); the chain rule through W' = W / std then
            // scales it by 1/std to give the gradient of the standardized-space weights.
            TensorPrimitives.MultiplyAdd(mean, -_gradientSum[c], gradient, gradient);
            TensorPrimitives.Multiply(gradient, inverseStd, gradient);
            TensorPrimitives.Multiply(w, decay, w);
            TensorPrimitives.MultiplyAdd(gradient, scale, w, w);
            bias[c] += scale * _gradientSum[c];
        }

        state.Steps++;
        state.RowsSeen += count;
    }

    /// <summary>
    /// The binary case inlined: one dot product, one sigmoid, one gradient update per row. Only a non-finite logit
    /// (a NaN or infinite feature) takes the general path, which imputes or rejects.
    /// </summary>
    private void AccumulateBinary(ReadOnlySpan<float> input, int label, int chunkIndex, int row)
    {
        var z = TensorPrimitives.Dot(_scaledWeights, input) + _foldedBias[0];
        if (!float.IsFinite(z))
        {
            input = LinearKernel.Logits(input, _standardization.Mean, _scaledWeights, _foldedBias, _rowScratch, _logits, center: false, chunkIndex, row);
            z = _logits[0];
        }

        // d(log loss)/d(logit) = p - y.
        var g = LinearKernel.Sigmoid(z) - label;
        TensorPrimitives.MultiplyAdd(input, g, _gradient, _gradient);
        _gradientSum[0] += g;
    }

    private void AccumulateMultinomial(ReadOnlySpan<float> input, int label, int chunkIndex, int row)
    {
        var featureCount = Options.FeatureCount;
        var x = LinearKernel.Logits(input, _standardization.Mean, _scaledWeights, _foldedBias, _rowScratch, _logits, center: false, chunkIndex, row);
        LinearKernel.ToProbabilities(_logits);
        for (var c = 0; c < _logits.Length; c++)
        {
            // d(log loss)/d(logit c) = p_c - y_c, with y the one-hot label.
            var g = _logits[c] - (c == label ? 1f : 0f);
            var gradient = _gradient.AsSpan(c * featureCount, featureCount);
            TensorPrimitives.MultiplyAdd(x, g, gradient, gradient);
            _gradientSum[c] += g;
        }
    }
}
