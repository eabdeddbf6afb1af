using System.Buffers;
using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Workflows.Serving.Batching;
using Workflows.Serving.Caching;
using Workflows.Serving.Configuration;
using Workflows.Serving.Diagnostics;
using Workflows.Serving.Feedback;
using Workflows.Serving.Models;
using Workflows.Serving.Protocol;
using Workflows.Serving.Routing;
using Workflows.Serving.Shadow;

namespace Workflows.Serving.Http;

/// <summary>
/// One inference request from body to answer: parse, choose the version (the URL's, else the route's by a stable
/// hash of the <c>x-request-key</c> header or the request id), check the input against that version's schema, answer
/// from the prediction cache or the version's batcher, then record statistics, metrics and the prediction for
/// feedback, and offer a copy to the shadow version when the request is sampled.
/// </summary>
internal sealed class InferenceHandler(
    ModelCatalog catalog,
    PredictionCache<ScoreResult> cache,
    ShadowMirror shadow,
    RecentPredictions recent,
    ServingMetrics metrics,
    IOptions<ServingOptions> options,
    TimeProvider timeProvider)
{
    /// <summary>The header whose value keeps a caller on one version.</summary>
    public const string RequestKeyHeader = "x-request-key";

    private const int ResponseBufferBytes = 4096;
    private const int MaxKeptResponseBufferBytes = 1 << 20;

    /// <summary>Each thread's buffer for the response being written; a larger one than 1 MiB is not kept.</summary>
    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_responseBody;

    private readonly ServingOptions _options = options.Value;

    public Task InferV2Async(HttpContext context) => InferAsync(context, v1: false);

    public Task PredictV1Async(HttpContext context) => InferAsync(context, v1: true);

    /// <summary>The served model named by the route, or a 404.</summary>
    public ServedModel FindModel(HttpContext context)
    {
        var name = (string)context.Request.RouteValues["name"]!;
        var model = catalog.Find(name) ?? throw new ServingException(StatusCodes.Status404NotFound, "not_found", $"Model '{name}' is not served.");
        return model;
    }

    /// <summary>The version the URL names, or null when it names none; 404 when it names a version that is not served.</summary>
    public static VersionState? FindVersion(HttpContext context, ServedModel model)
    {
        if (context.Request.RouteValues["version"] is not string text)
        {
            return null;
        }

        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var version) && model.Find(version) is { } state
            ? state
            : throw new ServingException(StatusCodes.Status404NotFound, "not_found", $"Model '{model.Name}' has no version '{text}'.");
    }

    private async Task InferAsync(HttpContext context, bool v1)
    {
        var model = FindModel(context);
        var explicitVersion = FindVersion(context, model);
        var route = model.Route;
        var inputName = (explicitVersion?.Loaded ?? (route is null ? null : model.Loaded(route.Stable)))?.Schema.InputName ?? "features";
        var input = await RequestBody.ParseAsync(
            context.Request,
            _options.MaxRequestBodyBytes,
            body => v1 ? RequestParser.ParseV1(body, inputName) : RequestParser.ParseV2(body)).ConfigureAwait(false);
        var requestId = input.Id ?? Guid.NewGuid().ToString("N");
        var keyHeader = context.Request.Headers[RequestKeyHeader];
        var keyHash = StableHash.Of(keyHeader.Count > 0 ? keyHeader.ToString() : requestId);
        var version = Choose(model, explicitVersion, route, keyHash);
        input.Validate(version.Schema, _options.MaxRowsPerRequest);

        var started = timeProvider.GetTimestamp();
        ScoreResult result;
        try
        {
            result = await ScoreAsync(model.Name, version, input).ConfigureAwait(false);
        }
        catch
        {
            version.Stats.RecordError();
            throw;
        }

        var elapsed = timeProvider.GetElapsedTime(started);
        version.Stats.RecordRequest(elapsed, input.Rows);
        version.Sample?.Record(input.Data, input.Rows, result, timeProvider.GetUtcNow().ToUnixTimeSeconds());
        var instruments = version.Instruments;
        (v1 ? instruments.RequestsV1 : instruments.RequestsV2).Inc();
        instruments.Rows.Inc(input.Rows);
        instruments.Latency.Observe(elapsed.TotalSeconds);
        instruments.LatencyQuantiles.Observe(elapsed.TotalSeconds);
        if (result.Labels is not null)
        {
            recent.Record(requestId, model.Name, version.Version, result.Labels);
        }

        if (explicitVersion is null && route is { Shadow: { } shadowVersion } && shadowVersion != version.Version && route.Mirrors(keyHash)
            && model.Loaded(shadowVersion) is { } shadowLoaded)
        {
            shadow.Offer(model.Name, shadowLoaded, requestId, input.Data, input.Rows, version.Version, result);
        }

        var response = context.Response;
        response.ContentType = "application/json";
        response.Headers["x-model-version"] = version.Version.ToString(CultureInfo.InvariantCulture);
        response.Headers["x-request-id"] = requestId;
        var body = t_responseBody ??= new ArrayBufferWriter<byte>(ResponseBufferBytes);
        body.ResetWrittenCount();
        if (v1)
        {
            ResponseWriter.WriteV1(body, result);
        }
        else
        {
            ResponseWriter.WriteV2(body, model.Name, version.Version, requestId, version.Schema, input, result);
        }

        // Written whole with its Content-Length (no chunked framing); the buffer is copied out before any await.
        response.ContentLength = body.WrittenCount;
        response.BodyWriter.Write(body.WrittenSpan);
        if (body.Capacity > MaxKeptResponseBufferBytes)
        {
            t_responseBody = null;
        }

        await response.BodyWriter.FlushAsync(context.RequestAborted).ConfigureAwait(false);
    }

    private static LoadedVersion Choose(ServedModel model, VersionState? explicitVersion, RouteTable? route, ulong keyHash)
    {
        if (explicitVersion is not null)
        {
            return explicitVersion.Loaded
                ?? throw new ServingException(StatusCodes.Status503ServiceUnavailable, "not_loaded", $"Model '{model.Name}' version {explicitVersion.Manifest.Version} failed to load: {explicitVersion.Error}");
        }

        if (route is null)
        {
            throw new ServingException(StatusCodes.Status503ServiceUnavailable, "not_loaded", $"Model '{model.Name}' has no loaded version yet.");
        }

        return model.Loaded(route.Choose(keyHash)) ?? model.Loaded(route.Stable)!;
    }

    private async Task<ScoreResult> ScoreAsync(string model, LoadedVersion version, InferenceInput input)
    {
        if (!cache.Enabled)
        {
            return await version.Batcher.ScoreAsync(input.Data, input.Rows).ConfigureAwait(false);
        }

        var key = new CacheKey(model, version.Version, input.Data);
        if (cache.TryGet(key, out var cached))
        {
            metrics.CacheLookup(hit: true);
            return cached;
        }

        metrics.CacheLookup(hit: false);
        var result = await version.Batcher.ScoreAsync(input.Data, input.Rows).ConfigureAwait(false);
        cache.Set(key, result, result.ByteSize);
        return result;
    }
}
