namespace Workflows.Serving.Feedback;

/// <summary>
/// The last <c>capacity</c> answered requests by id (model, version, predicted labels), so labels sent later as
/// feedback can be scored against the version that answered. The oldest are forgotten first; an id takes feedback once.
/// Thread-safe.
/// </summary>
internal sealed class RecentPredictions(int capacity)
{
    private readonly Dictionary<string, Prediction> _byId = new(StringComparer.Ordinal);
    private readonly Queue<string> _order = new();
    private readonly Lock _gate = new();

    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _byId.Count;
            }
        }
    }

    public void Record(string requestId, string model, int version, long[] labels)
    {
        lock (_gate)
        {
            if (!_byId.TryAdd(requestId, new Prediction(model, version, labels)))
            {
                return; // a repeated id keeps its first answer
            }

            _order.Enqueue(requestId);
            while (_order.Count > capacity)
            {
                _byId.Remove(_order.Dequeue());
            }
        }
    }

    /// <summary>Takes the prediction recorded for <paramref name="requestId"/> on <paramref name="model"/>, if still remembered.</summary>
    public bool TryTake(string requestId, string model, out Prediction prediction)
    {
        lock (_gate)
        {
            if (_byId.TryGetValue(requestId, out prediction!) && prediction.Model == model)
            {
                _byId.Remove(requestId); // the queue's stale id is skipped when it comes up
                return true;
            }
        }

        prediction = null!;
        return false;
    }
}

/// <summary>What a version answered for a request.</summary>
/// <param name="Model">Model name.</param>
/// <param name="Version">The version that answered.</param>
/// <param name="Labels">Its predicted label per row.</param>
internal sealed record Prediction(string Model, int Version, long[] Labels);
