using System.Runtime.CompilerServices;
using Workflows.ML.Numerics;

namespace Workflows.ML.Training;

/// <summary>
/// Mini-batch SGD for logistic regression (binary sigmoid or multinomial softmax) on standardized features, one
/// chunk at a time. Rows of a chunk are visited in an order shuffled from (seed, epoch, chunk), so a chunk trained
/// again after a crash, on any worker with the same kind of CPU, gives bit-identical weights (the kernels'
/// vector width, <see cref="System.Numerics.Vector{T}"/>'s, sets the order of the sums: 8 floats on AVX2 and AVX-512). Not thread-safe: one trainer per worker; it owns its scratch
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
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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

        SplitMix64.For(Options.Seed, EpochPlan.RowOrderStream, epoch, chunkIndex).Shuffle(order);
        return order;
    }

    /// <summary>One SGD step on the rows <c>order[start..start+count]</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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
            SgdKernels.Multiply(weights.AsSpan(c * featureCount, featureCount), inverseStd, scaled);
            _foldedBias[c] = bias[c] - SgdKernels.Dot(scaled, mean);
        }

        Array.Clear(_gradient);
        Array.Clear(_gradientSum);
        var end = start + count;
        var k = start;
        if (outputs == 1)
        {
            // Four rows at a time share the loads of the weights and of the gradient.
            for (; k + 4 <= end; k += 4)
            {
                PrefetchAhead(order, k, features);
                AccumulateBinary4(order.Slice(k, 4), chunkIndex, features, labels);
            }

            for (; k < end; k++)
            {
                PrefetchAhead(order, k, features);
                var row = order[k];
                AccumulateBinary(features.Slice(row * featureCount, featureCount), labels[row], chunkIndex, row);
            }
        }
        else
        {
            for (; k < end; k++)
            {
                PrefetchAhead(order, k, features);
                var row = order[k];
                AccumulateMultinomial(features.Slice(row * featureCount, featureCount), labels[row], chunkIndex, row);
            }
        }

        var rate = LearningRateAt(state.Steps);
        var decay = 1f - (rate * Options.L2);
        var scale = -rate / count;
        for (var c = 0; c < outputs; c++)
        {
            // Sum of g·x minus (sum of g)·mean is the sum of g·(x - mean); the chain rule through W' = W / std then
            // scales it by 1/std to give the gradient of the standardized-space weights.
            SgdKernels.Update(
                weights.AsSpan(c * featureCount, featureCount), _gradient.AsSpan(c * featureCount, featureCount), _gradientSum[c], mean, inverseStd, decay, scale);
            bias[c] += scale * _gradientSum[c];
        }

        state.Steps++;
        state.RowsSeen += count;
    }

    /// <summary>Hints the rows a few positions ahead of <paramref name="k"/> into the cache (shuffled order defeats the hardware prefetcher).</summary>
    private void PrefetchAhead(ReadOnlySpan<int> order, int k, ReadOnlySpan<float> features)
    {
        var ahead = k + RowPrefetch.Distance;
        if (ahead + 4 <= order.Length)
        {
            var featureCount = Options.FeatureCount;
            for (var j = ahead; j < ahead + 4; j++)
            {
                RowPrefetch.Prefetch(features.Slice(order[j] * featureCount, featureCount));
            }
        }
        else if (ahead < order.Length)
        {
            RowPrefetch.Prefetch(features.Slice(order[ahead] * Options.FeatureCount, Options.FeatureCount));
        }
    }

    /// <summary>
    /// Four binary rows at once: four dot products, four sigmoids, one pass of gradient updates. When any logit is not
    /// finite (a NaN or infinite feature) the four rows take the one-row path instead, which imputes or rejects; the
    /// kernels guarantee both paths give the same bits on clean rows.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void AccumulateBinary4(ReadOnlySpan<int> rows, int chunkIndex, ReadOnlySpan<float> features, ReadOnlySpan<int> labels)
    {
        var featureCount = Options.FeatureCount;
        int r0 = rows[0], r1 = rows[1], r2 = rows[2], r3 = rows[3];
        int o0 = r0 * featureCount, o1 = r1 * featureCount, o2 = r2 * featureCount, o3 = r3 * featureCount;
        SgdKernels.Dot4(_scaledWeights, features, o0, o1, o2, o3, out var z0, out var z1, out var z2, out var z3);
        var bias = _foldedBias[0];
        z0 += bias;
        z1 += bias;
        z2 += bias;
        z3 += bias;
        if (!(float.IsFinite(z0) && float.IsFinite(z1) && float.IsFinite(z2) && float.IsFinite(z3)))
        {
            foreach (var row in rows)
            {
                AccumulateBinary(features.Slice(row * featureCount, featureCount), labels[row], chunkIndex, row);
            }

            return;
        }

        // d(log loss)/d(logit) = p - y.
        var g0 = LinearKernel.Sigmoid(z0) - labels[r0];
        var g1 = LinearKernel.Sigmoid(z1) - labels[r1];
        var g2 = LinearKernel.Sigmoid(z2) - labels[r2];
        var g3 = LinearKernel.Sigmoid(z3) - labels[r3];
        SgdKernels.AddScaled4(_gradient, features, o0, g0, o1, g1, o2, g2, o3, g3);
        _gradientSum[0] += g0;
        _gradientSum[0] += g1;
        _gradientSum[0] += g2;
        _gradientSum[0] += g3;
    }

    /// <summary>
    /// One binary row: one dot product, one sigmoid, one gradient update. A non-finite logit (a NaN or infinite
    /// feature) imputes the row's NaNs with the means, or rejects an infinity, and computes again.
    /// </summary>
    private void AccumulateBinary(ReadOnlySpan<float> input, int label, int chunkIndex, int row)
    {
        var z = SgdKernels.Dot(_scaledWeights, input) + _foldedBias[0];
        if (!float.IsFinite(z))
        {
            input = Impute(input, chunkIndex, row);
            z = SgdKernels.Dot(_scaledWeights, input) + _foldedBias[0];
            CheckNotDiverged(z);
        }

        var g = LinearKernel.Sigmoid(z) - label;
        SgdKernels.AddScaled(_gradient, g, input);
        _gradientSum[0] += g;
    }

    private void AccumulateMultinomial(ReadOnlySpan<float> input, int label, int chunkIndex, int row)
    {
        var featureCount = Options.FeatureCount;
        if (!MultinomialLogits(input))
        {
            input = Impute(input, chunkIndex, row);
            MultinomialLogits(input);
            foreach (var z in _logits)
            {
                CheckNotDiverged(z);
            }
        }

        LinearKernel.ToProbabilities(_logits);
        for (var c = 0; c < _logits.Length; c++)
        {
            // d(log loss)/d(logit c) = p_c - y_c, with y the one-hot label.
            var g = _logits[c] - (c == label ? 1f : 0f);
            SgdKernels.AddScaled(_gradient.AsSpan(c * featureCount, featureCount), g, input);
            _gradientSum[c] += g;
        }
    }

    /// <summary>Writes W'·x + b' per class into the logits; false when one is not finite.</summary>
    private bool MultinomialLogits(ReadOnlySpan<float> input)
    {
        var featureCount = Options.FeatureCount;
        var finite = true;
        for (var c = 0; c < _logits.Length; c++)
        {
            var z = SgdKernels.Dot(_scaledWeights.AsSpan(c * featureCount, featureCount), input) + _foldedBias[c];
            _logits[c] = z;
            finite &= float.IsFinite(z);
        }

        return finite;
    }

    /// <summary>A copy of the row with NaN replaced by the feature mean (in the trainer's scratch); an infinity is rejected.</summary>
    private ReadOnlySpan<float> Impute(ReadOnlySpan<float> input, int chunkIndex, int row)
    {
        LinearKernel.ImputeMissing(input, _standardization.Mean, _rowScratch, chunkIndex, row);
        return _rowScratch;
    }

    /// <summary>Finite features (after imputation) can only give a NaN logit when the weights themselves stopped being finite.</summary>
    private static void CheckNotDiverged(float z)
    {
        if (float.IsNaN(z))
        {
            throw new InvalidOperationException(
                "SGD diverged: the weights are no longer finite numbers. Lower the learning rate or raise L2.");
        }
    }
}
