using Workflows.ML.Monitoring;
using Workflows.Serving.Batching;

namespace Workflows.Serving.Monitoring;

/// <summary>
/// The last <see cref="Capacity"/> rows one model version answered: each row's input features, its prediction (one
/// value per row, as <see cref="ReferencePrediction.Of"/> reduces the outputs, the rule the reference profile uses)
/// and the second it was answered. A ring: a new row takes the place of the oldest. The buffers are allocated once;
/// recording a request copies its rows under a short lock and allocates nothing.
/// </summary>
internal sealed class PredictionSample
{
    private readonly Lock _gate = new();
    private readonly float[] _inputs;
    private readonly float[] _predictions;
    private readonly long[] _seconds;
    private long _recorded;

    public PredictionSample(int capacity, int features)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(features, 1);
        Capacity = capacity;
        Features = features;
        _inputs = new float[(long)capacity * features];
        _predictions = new float[capacity];
        _seconds = new long[capacity];
    }

    /// <summary>Rows kept at most.</summary>
    public int Capacity { get; }

    /// <summary>Features per row.</summary>
    public int Features { get; }

    /// <summary>Rows recorded since the version loaded (kept or since replaced).</summary>
    public long Recorded
    {
        get
        {
            lock (_gate)
            {
                return _recorded;
            }
        }
    }

    /// <summary>Records the <paramref name="rows"/> rows of one answered request (row-major inputs and their scores), answered at <paramref name="second"/> (Unix seconds).</summary>
    public void Record(ReadOnlySpan<float> inputs, int rows, ScoreResult result, long second)
    {
        ArgumentNullException.ThrowIfNull(result);
        if (rows < 1 || inputs.Length != rows * Features || result.Rows != rows)
        {
            throw new ArgumentException($"{rows} rows of {Features} features are not {inputs.Length} values with {result.Rows} scored rows.", nameof(inputs));
        }

        // A request of more rows than the ring holds leaves only its last rows.
        var first = Math.Max(0, rows - Capacity);
        lock (_gate)
        {
            _recorded += first;
            for (var row = first; row < rows; row++)
            {
                var slot = (int)(_recorded++ % Capacity);
                inputs.Slice(row * Features, Features).CopyTo(_inputs.AsSpan(slot * Features, Features));
                _predictions[slot] = ReferencePrediction.Of(result.Values.AsSpan(row * result.Width, result.Width), result.Labels?[row]);
                _seconds[slot] = second;
            }
        }
    }

    /// <summary>
    /// A copy of at most <paramref name="max"/> of the most recent rows answered in the seconds from
    /// <paramref name="fromSecond"/> up to (not including) <paramref name="toSecond"/> (null: no bound), oldest first.
    /// </summary>
    public SampleRows Read(int max, long? fromSecond = null, long? toSecond = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(max, 0);
        lock (_gate)
        {
            var kept = (int)Math.Min(_recorded, Capacity);
            var slots = new List<int>(Math.Min(max, kept));
            for (var back = 1; back <= kept && slots.Count < max; back++)
            {
                var slot = (int)((_recorded - back) % Capacity);
                var second = _seconds[slot];
                if ((fromSecond is null || second >= fromSecond) && (toSecond is null || second < toSecond))
                {
                    slots.Add(slot);
                }
            }

            slots.Reverse();
            var inputs = new float[slots.Count * Features];
            var predictions = new float[slots.Count];
            for (var i = 0; i < slots.Count; i++)
            {
                _inputs.AsSpan(slots[i] * Features, Features).CopyTo(inputs.AsSpan(i * Features, Features));
                predictions[i] = _predictions[slots[i]];
            }

            return new SampleRows(Features, _recorded, inputs, predictions);
        }
    }
}

/// <summary>Rows read from a <see cref="PredictionSample"/>, oldest first.</summary>
/// <param name="Features">Features per row.</param>
/// <param name="Recorded">Rows the version had recorded when they were read.</param>
/// <param name="Inputs">Row-major features (NaN: missing).</param>
/// <param name="Predictions">One prediction per row.</param>
internal sealed record SampleRows(int Features, long Recorded, float[] Inputs, float[] Predictions)
{
    public int Rows => Predictions.Length;
}
