namespace Workflows.ML.Training;

/// <summary>
/// Accuracy, log loss and ROC AUC of a model over holdout chunks fed one at a time. Accuracy and log loss are
/// running sums; AUC needs a ranking of all rows, so the evaluator keeps one score per row and class (fine for a
/// holdout: 4 bytes per row and class).
/// </summary>
public sealed class HoldoutEvaluator
{
    private const double ProbabilityClip = 1e-15;
    private readonly LogisticRegressionModel _model;
    private float[] _scores = [];
    private int[] _labels = [];
    private long _rows;
    private long _correct;
    private double _logLossSum;

    /// <summary>Creates an evaluator for <paramref name="model"/>.</summary>
    public HoldoutEvaluator(LogisticRegressionModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        _model = model;
    }

    /// <summary>Scores one holdout chunk and adds it to the metrics.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public void Add(ReadOnlySpan<float> features, ReadOnlySpan<int> labels, int rowCount, int chunkIndex = 0)
    {
        ChunkValidation.Validate(_model.FeatureCount, _model.ClassCount, chunkIndex, features, labels, rowCount);
        var width = _model.OutputCount;
        EnsureCapacity(_rows + rowCount, width);

        // Scored straight into the kept scores: the AUC needs them later anyway.
        var probabilities = _scores.AsSpan((int)(_rows * width), rowCount * width);
        _model.PredictProbabilities(features, rowCount, probabilities, chunkIndex);
        for (var row = 0; row < rowCount; row++)
        {
            var rowProbabilities = probabilities.Slice(row * width, width);
            var label = labels[row];
            _correct += LinearKernel.Label(rowProbabilities) == label ? 1 : 0;
            double labelProbability = width == 1 ? (label == 1 ? rowProbabilities[0] : 1.0 - rowProbabilities[0]) : rowProbabilities[label];
            _logLossSum -= Math.Log(Math.Clamp(labelProbability, ProbabilityClip, 1 - ProbabilityClip));
            _labels[_rows + row] = label;
        }

        _rows += rowCount;
    }

    /// <summary>The metrics over every row added so far.</summary>
    public EvaluationMetrics Compute()
    {
        if (_rows == 0)
        {
            throw new TrainingDataException("The holdout has no rows: nothing to evaluate.");
        }

        return new EvaluationMetrics(_rows, (double)_correct / _rows, _logLossSum / _rows, ComputeAuc());
    }

    /// <summary>Holdout rows per class (index = label) over every row added so far.</summary>
    public long[] CountRowsPerClass()
    {
        var counts = new long[_model.ClassCount];
        for (long row = 0; row < _rows; row++)
        {
            counts[_labels[row]]++;
        }

        return counts;
    }

    /// <summary>
    /// Throws <see cref="TrainingDataException"/> when a class the model was trained on (a positive entry of
    /// <paramref name="trainedRowsPerClass"/>) has no holdout row: the metrics could not measure that class, and with
    /// a single class left ROC AUC is undefined. <paramref name="holdout"/> names the holdout in the message.
    /// </summary>
    public void EnsureTrainedClassesPresent(ReadOnlySpan<long> trainedRowsPerClass, string holdout)
    {
        var holdoutRows = CountRowsPerClass();
        var missing = new List<string>();
        var present = new List<string>();
        for (var c = 0; c < holdoutRows.Length; c++)
        {
            if (holdoutRows[c] > 0)
            {
                present.Add(c.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }
            else if (c < trainedRowsPerClass.Length && trainedRowsPerClass[c] > 0)
            {
                missing.Add(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{c} ({trainedRowsPerClass[c]} training rows)"));
            }
        }

        if (missing.Count > 0)
        {
            throw new TrainingDataException(
                $"the holdout ({holdout}) has no rows of class {string.Join(", ", missing)}; it holds only class {string.Join(", ", present)}, " +
                "so its metrics would not measure every class the model learns (with one class, ROC AUC is undefined). " +
                "Choose another seed or a larger holdoutFraction, or give a holdout dataset with every class.");
        }
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private double ComputeAuc()
    {
        var rows = (int)_rows;
        var width = _model.OutputCount;
        var classScores = new float[rows];
        var positive = new bool[rows];
        var scratch = new ulong[rows];
        if (width == 1)
        {
            for (var row = 0; row < rows; row++)
            {
                classScores[row] = _scores[row];
                positive[row] = _labels[row] == 1;
            }

            return RocAuc.Compute(classScores, positive, scratch);
        }

        double sum = 0;
        var defined = 0;
        for (var c = 0; c < width; c++)
        {
            for (var row = 0; row < rows; row++)
            {
                classScores[row] = _scores[(row * width) + c];
                positive[row] = _labels[row] == c;
            }

            var auc = RocAuc.Compute(classScores, positive, scratch);
            if (!double.IsNaN(auc))
            {
                sum += auc;
                defined++;
            }
        }

        return defined == 0 ? double.NaN : sum / defined;
    }

    private void EnsureCapacity(long rows, int width)
    {
        if (rows * width > Array.MaxLength)
        {
            throw new TrainingDataException($"The holdout is too large to rank in memory ({rows} rows × {width} scores).");
        }

        if (_labels.Length < rows)
        {
            var capacity = (int)Math.Min(Math.Max(rows, _labels.Length * 2L), Array.MaxLength / width);
            Array.Resize(ref _labels, capacity);
            Array.Resize(ref _scores, capacity * width);
        }
    }
}
