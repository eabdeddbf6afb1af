namespace Workflows.Functions.Canary;

/// <summary>
/// The prediction service's admin API as the canary activities use it (src/Workflows.Serving, docs/serving.md): read a
/// model's routing, have the registry scanned, set the candidate's weight, promote a version to stable, and read per-version figures over a time
/// window. <see cref="HttpServingAdmin"/> calls the service over HTTP; tests may use a fake.
/// </summary>
public interface IServingAdmin
{
    /// <summary>The model's routing and loaded versions; <see langword="null"/> when the service does not serve the name.</summary>
    Task<ServingRoute?> GetRouteAsync(string model, CancellationToken cancellationToken);

    /// <summary>Has the service scan its registry now, loading the versions registered since its last scan; returns how many loaded.</summary>
    Task<int> RefreshAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Replaces the model's split: <paramref name="weight"/> (0 to 1) of the request keys to <paramref name="candidate"/>
    /// (<see langword="null"/>: no candidate), and a copy of <paramref name="shadowShare"/> of the requests to
    /// <paramref name="shadow"/> (<see langword="null"/>: no shadow).
    /// </summary>
    Task<ServingRoute> SetTrafficAsync(string model, int? candidate, double weight, int? shadow, double shadowShare, CancellationToken cancellationToken);

    /// <summary>Makes <paramref name="version"/> the model's stable version (the service keeps the old one for rollback).</summary>
    Task<ServingRoute> PromoteAsync(string model, int version, CancellationToken cancellationToken);

    /// <summary>Each loaded version's figures over the whole seconds from <paramref name="from"/> up to <paramref name="to"/>.</summary>
    Task<ServingWindow> GetMetricsAsync(string model, DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken);

    /// <summary>
    /// The recent rows <paramref name="version"/> (null: the stable version) answered, inputs and predictions: at most
    /// <paramref name="max"/> of the most recent, only those answered from <paramref name="from"/> up to
    /// <paramref name="to"/> when given, oldest first.
    /// </summary>
    Task<ServingSample> GetSampleAsync(string model, int? version, int max, DateTimeOffset? from, DateTimeOffset? to, CancellationToken cancellationToken);
}

/// <summary>Recent rows one version answered.</summary>
/// <param name="Version">The version.</param>
/// <param name="Features">Features per row.</param>
/// <param name="Recorded">Rows the version had recorded since it loaded (more than it keeps once the ring is full).</param>
/// <param name="Inputs">Row-major features, NaN where a value was missing.</param>
/// <param name="Predictions">One prediction per row (a binary model's probability of class 1, a score, or the predicted class).</param>
public sealed record ServingSample(int Version, int Features, long Recorded, float[] Inputs, float[] Predictions)
{
    /// <summary>Rows in the sample.</summary>
    public int Rows => Predictions.Length;
}

/// <summary>A model's routing at the prediction service.</summary>
/// <param name="Stable">The version that takes what the candidate does not.</param>
/// <param name="Candidate">The version under trial, or null.</param>
/// <param name="CandidateWeight">Share of request keys routed to the candidate, 0 to 1.</param>
/// <param name="Shadow">The version requests are mirrored to, or null.</param>
/// <param name="ShadowShare">Share of requests mirrored.</param>
/// <param name="LoadedVersions">Versions the service has loaded (and so can route to), ascending.</param>
public sealed record ServingRoute(int Stable, int? Candidate, double CandidateWeight, int? Shadow, double ShadowShare, IReadOnlyList<int> LoadedVersions);

/// <summary>Every loaded version's figures over one window.</summary>
/// <param name="Versions">Per version.</param>
public sealed record ServingWindow(IReadOnlyList<ServingVersionFigures> Versions);

/// <summary>One version's figures over a window.</summary>
/// <param name="Version">The version.</param>
/// <param name="Complete">Whether the whole window is over and still kept by the service.</param>
/// <param name="Requests">Requests answered.</param>
/// <param name="Errors">Requests that failed while scoring.</param>
/// <param name="P99Ms">99th-percentile latency in ms (a histogram bucket's upper bound), null without requests.</param>
/// <param name="LabelledRows">Rows whose labels came back as feedback.</param>
/// <param name="Accuracy">Correct over labelled rows, null without feedback.</param>
/// <param name="Histogram">Latency buckets (upper bound in ms, requests), ascending, empty ones left out.</param>
/// <param name="ShadowCompared">Mirrored requests this version scored as the shadow and compared with the answer served.</param>
/// <param name="ShadowDisagreed">Of those, the ones whose answer disagreed.</param>
public sealed record ServingVersionFigures(
    int Version,
    bool Complete,
    long Requests,
    long Errors,
    double? P99Ms,
    long LabelledRows,
    double? Accuracy,
    IReadOnlyList<ServingLatencyBucket> Histogram,
    long ShadowCompared = 0,
    long ShadowDisagreed = 0);

/// <summary>Requests whose latency fell in one histogram bucket.</summary>
/// <param name="UpperMs">The bucket's upper bound in ms.</param>
/// <param name="Count">Requests in it.</param>
public sealed record ServingLatencyBucket(double UpperMs, long Count);
