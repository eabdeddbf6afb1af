using Prometheus;

namespace Workflows.Serving.Diagnostics;

/// <summary>
/// The service's Prometheus metrics (its own registry, served at <c>/metrics</c>): requests, rows, latency (a histogram
/// and a summary with p50/p95/p99 per version), errors by reason, batch sizes, cache hits, shadow traffic and feedback.
/// </summary>
internal sealed class ServingMetrics
{
    private readonly Counter _requests;
    private readonly Counter _rows;
    private readonly Histogram _latency;
    private readonly Summary _latencyQuantiles;
    private readonly Counter _errors;
    private readonly Histogram _batchRows;
    private readonly Counter _cache;
    private readonly Counter _shadow;
    private readonly Counter _feedback;

    public ServingMetrics()
    {
        Registry = Metrics.NewCustomRegistry();
        var factory = Metrics.WithCustomRegistry(Registry);
        _requests = factory.CreateCounter("workflows_serving_requests_total", "Inference requests answered, by model, version and protocol.", "model", "version", "protocol");
        _rows = factory.CreateCounter("workflows_serving_rows_total", "Rows scored for requests, by model and version.", "model", "version");
        _latency = factory.CreateHistogram(
            "workflows_serving_request_duration_seconds",
            "Time from a parsed request to its outputs, by model and version.",
            new HistogramConfiguration { LabelNames = ["model", "version"], Buckets = Histogram.ExponentialBuckets(0.00005, 2, 16) });
        _latencyQuantiles = factory.CreateSummary(
            "workflows_serving_request_duration_quantiles_seconds",
            "p50, p95 and p99 of the request duration over the last 5 minutes, by model and version.",
            new SummaryConfiguration
            {
                LabelNames = ["model", "version"],
                Objectives = [new QuantileEpsilonPair(0.5, 0.01), new QuantileEpsilonPair(0.95, 0.005), new QuantileEpsilonPair(0.99, 0.001)],
                MaxAge = TimeSpan.FromMinutes(5),
            });
        _errors = factory.CreateCounter("workflows_serving_errors_total", "Requests answered with an error, by model and reason.", "model", "reason");
        _batchRows = factory.CreateHistogram(
            "workflows_serving_batch_rows",
            "Rows per model call, by model and version.",
            new HistogramConfiguration { LabelNames = ["model", "version"], Buckets = Histogram.ExponentialBuckets(1, 2, 12) });
        _cache = factory.CreateCounter("workflows_serving_cache_total", "Prediction cache look-ups, by result (hit, miss).", "result");
        _shadow = factory.CreateCounter("workflows_serving_shadow_total", "Shadow traffic, by model and outcome (mirrored, dropped, disagreed, failed).", "model", "outcome");
        _feedback = factory.CreateCounter("workflows_serving_feedback_rows_total", "Labelled rows received as feedback, by model, version and outcome (correct, wrong).", "model", "version", "outcome");
    }

    public CollectorRegistry Registry { get; }

    /// <summary>The instruments of one model version, resolved once so the hot path does no label look-ups.</summary>
    public VersionInstruments ForVersion(string model, int version)
    {
        var v = version.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return new VersionInstruments(
            _requests.WithLabels(model, v, "v2"),
            _requests.WithLabels(model, v, "v1"),
            _rows.WithLabels(model, v),
            _latency.WithLabels(model, v),
            _latencyQuantiles.WithLabels(model, v),
            _batchRows.WithLabels(model, v),
            _feedback.WithLabels(model, v, "correct"),
            _feedback.WithLabels(model, v, "wrong"));
    }

    public void Error(string model, string reason) => _errors.WithLabels(model, reason).Inc();

    public void CacheLookup(bool hit) => _cache.WithLabels(hit ? "hit" : "miss").Inc();

    public void Shadow(string model, string outcome) => _shadow.WithLabels(model, outcome).Inc();

    /// <summary>Shadow outcomes counted so far (tests, admin).</summary>
    public double ShadowCount(string model, string outcome) => _shadow.WithLabels(model, outcome).Value;
}

/// <summary>The Prometheus children of one model version.</summary>
internal sealed record VersionInstruments(
    Counter.Child RequestsV2,
    Counter.Child RequestsV1,
    Counter.Child Rows,
    Histogram.Child Latency,
    Summary.Child LatencyQuantiles,
    Histogram.Child BatchRows,
    Counter.Child FeedbackCorrect,
    Counter.Child FeedbackWrong);
