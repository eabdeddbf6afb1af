namespace Workflows.Serving.Configuration;

/// <summary>
/// Settings of the prediction service, bound from the configuration section <c>Serving</c> (environment variables
/// <c>Serving__Name</c>, command line <c>--Serving:Name=value</c>). Checked at start-up by <see cref="ServingOptionsValidator"/>.
/// </summary>
public sealed class ServingOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "Serving";

    /// <summary>The address the service listens on when neither <c>--urls</c> nor <c>urls</c>/<c>ASPNETCORE_URLS</c> is set.</summary>
    public const string DefaultUrl = "http://127.0.0.1:7072";

    /// <summary>The function app's setting for its registry folder, the fallback for <see cref="RegistryFolder"/>.</summary>
    public const string FunctionAppRegistrySetting = "WorkflowsModelRegistryRoot";

    /// <summary>The registry folder when neither <see cref="RegistryFolder"/> nor <see cref="FunctionAppRegistrySetting"/> is set, as the function app's.</summary>
    public const string DefaultRegistryFolder = "models";

    /// <summary>
    /// Folder of the local model registry, relative to the data root (an absolute path must lie inside it); when not
    /// set, the function app's <c>WorkflowsModelRegistryRoot</c>, else <c>models</c>: the folder the function app
    /// registers models in.
    /// </summary>
    public string? RegistryFolder { get; set; }

    /// <summary>When set, models come from a Blob container of this storage account (connection string) instead of the local folder.</summary>
    public string? BlobConnectionString { get; set; }

    /// <summary>The Blob container of the registry when <see cref="BlobConnectionString"/> is set.</summary>
    public string BlobContainer { get; set; } = "models";

    /// <summary>Seconds between registry scans for new versions; 0 scans only at start-up and on <c>POST /admin/refresh</c>.</summary>
    public int RegistryPollSeconds { get; set; } = 10;

    /// <summary>Key of the <c>/admin</c> API, sent as the <c>x-admin-key</c> header; without one the admin API answers 403.</summary>
    public string? AdminKey { get; set; }

    /// <summary>
    /// When <see cref="AdminKey"/> is not set: a file holding the admin key, created with a new random key when it does
    /// not exist (relative to the working directory).
    /// </summary>
    public string? AdminKeyFile { get; set; }

    /// <summary>Largest request body in bytes; larger bodies are answered 413.</summary>
    public long MaxRequestBodyBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>Most rows in one request.</summary>
    public int MaxRowsPerRequest { get; set; } = 10_000;

    /// <summary>Most rows the micro-batcher scores in one model call; 1 scores every request on its own.</summary>
    public int MaxBatchRows { get; set; } = 256;

    /// <summary>
    /// Microseconds the batcher waits for more requests after the first of a batch when the batch is not full; 0 takes
    /// what is queued at that moment. Waits are rounded up to the timer's resolution (about a millisecond).
    /// </summary>
    public int MaxBatchWaitMicroseconds { get; set; }

    /// <summary>Requests a version's batcher may hold waiting; more are answered 503.</summary>
    public int BatchQueueCapacity { get; set; } = 10_000;

    /// <summary>ONNX Runtime intra-op threads per session (spinning is always off).</summary>
    public int OnnxIntraOpThreads { get; set; } = 1;

    /// <summary>Most entries of the prediction cache; 0 turns the cache off.</summary>
    public int CacheEntries { get; set; } = 10_000;

    /// <summary>Most bytes the prediction cache's entries may take (estimated: inputs, outputs and bookkeeping).</summary>
    public long CacheBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>Seconds a cached prediction stays valid.</summary>
    public int CacheTtlSeconds { get; set; } = 60;

    /// <summary>Requests the shadow channel holds before further mirrored requests are dropped (and counted).</summary>
    public int ShadowQueueCapacity { get; set; } = 1_000;

    /// <summary>Recent request ids remembered for <c>/feedback</c>; the oldest are forgotten first.</summary>
    public int FeedbackCapacity { get; set; } = 100_000;

    /// <summary>Seconds of per-version statistics kept for <c>/admin/models/{name}/metrics?window=</c>.</summary>
    public int StatsWindowSeconds { get; set; } = 600;

    /// <summary>Rows each version keeps of its recent answers (inputs and predictions) for drift checks; 0 keeps none.</summary>
    public int SampleRows { get; set; } = 10_000;

    /// <summary>Whether to time single-row and batched scoring when a version loads (the model report).</summary>
    public bool MeasureAtLoad { get; set; } = true;
}
