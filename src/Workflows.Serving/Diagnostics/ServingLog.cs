using Microsoft.Extensions.Logging;

namespace Workflows.Serving.Diagnostics;

/// <summary>The service's log messages (source-generated).</summary>
internal static partial class ServingLog
{
    [LoggerMessage(1, LogLevel.Information, "Model {Model} version {Version} loaded in {LoadMs:F1} ms ({Platform}, {Features} features, {Bytes} bytes).")]
    public static partial void VersionLoaded(ILogger logger, string model, int version, double loadMs, string platform, int features, long bytes);

    [LoggerMessage(2, LogLevel.Error, "Model {Model} version {Version} failed to load; the versions already loaded keep serving: {Reason}")]
    public static partial void VersionLoadFailed(ILogger logger, Exception exception, string model, int version, string reason);

    [LoggerMessage(3, LogLevel.Information, "Model {Model}: stable {Stable}, candidate {Candidate} at weight {Weight}, shadow {Shadow} at share {ShadowShare} ({Change}).")]
    public static partial void RouteChanged(ILogger logger, string model, int stable, int? candidate, double weight, int? shadow, double shadowShare, string change);

    [LoggerMessage(4, LogLevel.Warning, "Shadow disagreement on model {Model} for request {RequestId}: version {Served} and shadow version {Shadow} differ.")]
    public static partial void ShadowDisagreement(ILogger logger, string model, string requestId, int served, int shadow);

    [LoggerMessage(5, LogLevel.Warning, "Shadow scoring on model {Model} version {Shadow} failed for request {RequestId}.")]
    public static partial void ShadowFailed(ILogger logger, Exception exception, string model, int shadow, string requestId);

    [LoggerMessage(6, LogLevel.Error, "Request {Method} {Path} failed; error id {ErrorId}.")]
    public static partial void RequestFailed(ILogger logger, Exception exception, string method, string path, string errorId);

    [LoggerMessage(7, LogLevel.Warning, "Registry scan failed; the loaded models keep serving.")]
    public static partial void RegistryScanFailed(ILogger logger, Exception exception);

    [LoggerMessage(8, LogLevel.Warning, "Admin request refused: missing or wrong key ({Path}).")]
    public static partial void AdminRefused(ILogger logger, string path);

    [LoggerMessage(9, LogLevel.Information, "Serving models from {Registry}; listening on {Urls}; admin API: {Admin}.")]
    public static partial void Started(ILogger logger, string registry, string urls, string admin);

    [LoggerMessage(10, LogLevel.Information, "Model {Model}: routing restored from {Source}: stable {Stable}, candidate {Candidate} at weight {Weight}, shadow {Shadow} at share {ShadowShare}.")]
    public static partial void RouteRestored(ILogger logger, string model, string source, int stable, int? candidate, double weight, int? shadow, double shadowShare);

    [LoggerMessage(11, LogLevel.Warning, "Model {Model}: routing in {Source} not restored, the first loaded version is stable: {Reason}")]
    public static partial void RouteNotRestored(ILogger logger, string model, string source, string reason);

    [LoggerMessage(12, LogLevel.Warning, "Model {Model}: routing not saved to {Source}; it holds until the service restarts.")]
    public static partial void RouteSaveFailed(ILogger logger, Exception exception, string model, string source);

    [LoggerMessage(13, LogLevel.Warning, "Model {Model}: routing in {Source} was changed by another instance since this one last read it; the newest change, this one, replaces it.")]
    public static partial void RouteOverwritten(ILogger logger, string model, string source);
}
