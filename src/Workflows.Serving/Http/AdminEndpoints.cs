using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Workflows.Serving.Configuration;
using Workflows.Serving.Diagnostics;
using Workflows.Serving.Models;
using Workflows.Serving.Routing;

namespace Workflows.Serving.Http;

/// <summary>
/// The admin API under <c>/admin</c> (key in <c>x-admin-key</c>, see <see cref="AdminKeyFilter"/>): rescan the
/// registry, read the routing and versions, set the candidate's weight and the shadow, promote, roll back, and read
/// per-version figures over a time window.
/// </summary>
internal static class AdminEndpoints
{
    public static void Map(IEndpointRouteBuilder endpoints)
    {
        var admin = endpoints.MapGroup("/admin").AddEndpointFilter<AdminKeyFilter>();
        admin.MapPost("/refresh", async (ModelCatalog catalog, CancellationToken cancellationToken) =>
            Results.Json(new { loaded = await catalog.RefreshAsync(cancellationToken).ConfigureAwait(false) }));
        admin.MapGet("/models", (ModelCatalog catalog) => Results.Json(catalog.Models.Select(Describe).ToArray()));
        admin.MapGet("/models/{name}", (HttpContext context, InferenceHandler handler) => Results.Json(Describe(handler.FindModel(context))));
        admin.MapPut("/models/{name}/traffic", TrafficAsync);
        admin.MapPost("/models/{name}/promote", PromoteAsync);
        admin.MapPost("/models/{name}/rollback", (HttpContext context, InferenceHandler handler, ModelCatalog catalog, ILogger<ModelCatalog> logger) =>
        {
            var model = handler.FindModel(context);
            return ChangedAsync(model, model.Rollback(), "rollback", catalog, logger, context.RequestAborted);
        });
        admin.MapGet("/models/{name}/metrics", Metrics);
        admin.MapGet("/models/{name}/sample", SampleAsync);
    }

    private static async Task<IResult> TrafficAsync(HttpContext context, InferenceHandler handler, ModelCatalog catalog, IOptions<ServingOptions> options, ILogger<ModelCatalog> logger)
    {
        var model = handler.FindModel(context);
        var body = await RequestBody.ReadJsonAsync<TrafficBody>(context.Request, options.Value.MaxRequestBodyBytes).ConfigureAwait(false);
        var route = model.SetTraffic(body.Candidate, body.Weight ?? 0, body.Shadow, body.ShadowShare ?? 0);
        return await ChangedAsync(model, route, "traffic set", catalog, logger, context.RequestAborted).ConfigureAwait(false);
    }

    private static async Task<IResult> PromoteAsync(HttpContext context, InferenceHandler handler, ModelCatalog catalog, IOptions<ServingOptions> options, ILogger<ModelCatalog> logger)
    {
        var model = handler.FindModel(context);
        var body = context.Request.ContentLength is null or 0
            ? new PromoteBody(null)
            : await RequestBody.ReadJsonAsync<PromoteBody>(context.Request, options.Value.MaxRequestBodyBytes).ConfigureAwait(false);
        return await ChangedAsync(model, model.Promote(body.Version), "promote", catalog, logger, context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>Logs a routing change and stores the model's table (so it survives a restart), then describes the model.</summary>
    private static async Task<IResult> ChangedAsync(ServedModel model, RouteTable route, string change, ModelCatalog catalog, ILogger logger, CancellationToken cancellationToken)
    {
        ServingLog.RouteChanged(logger, model.Name, route.Stable, route.Candidate, route.CandidateWeight, route.Shadow, route.ShadowShare, change);
        await catalog.SaveRouteAsync(model, cancellationToken).ConfigureAwait(false);
        return Results.Json(Describe(model));
    }

    /// <summary>
    /// Per version over the last <c>window</c> seconds (default 60): requests, errors, rate, p50/p95/p99, accuracy; and
    /// shadow counts. With <c>from</c> (and optionally <c>to</c>, default now), ISO 8601 times, the figures are those of
    /// the whole seconds from <c>from</c> up to <c>to</c> instead, each version with its latency histogram and whether
    /// the window is complete (over, and not older than the kept window).
    /// </summary>
    private static IResult Metrics(HttpContext context, InferenceHandler handler, ServingMetrics metrics, TimeProvider timeProvider, int? window, string? from, string? to)
    {
        var model = handler.FindModel(context);
        var shadow = new
        {
            mirrored = metrics.ShadowCount(model.Name, "mirrored"),
            dropped = metrics.ShadowCount(model.Name, "dropped"),
            disagreed = metrics.ShadowCount(model.Name, "disagreed"),
            failed = metrics.ShadowCount(model.Name, "failed"),
        };
        var loaded = model.Versions.Where(state => state.Loaded is not null).ToList();
        if (from is not null || to is not null)
        {
            if (window is not null)
            {
                throw new Protocol.InputException("give either window or from (and to), not both.");
            }

            var start = ParseTime(from, "from") ?? throw new Protocol.InputException("to needs from.");
            var end = ParseTime(to, "to") ?? timeProvider.GetUtcNow();
            var (first, last) = (start.ToUnixTimeSeconds(), end.ToUnixTimeSeconds());
            if (first >= last)
            {
                throw new Protocol.InputException("from must be at least a second before to.");
            }

            return Results.Json(new
            {
                name = model.Name,
                from = DateTimeOffset.FromUnixTimeSeconds(first),
                to = DateTimeOffset.FromUnixTimeSeconds(last),
                versions = loaded.Select(state =>
                {
                    var timed = state.Loaded!.Stats.Window(first, last);
                    return new { version = state.Manifest.Version, complete = timed.Complete, figures = timed.Figures, histogram = timed.Histogram };
                }).ToArray(),
                shadow,
            });
        }

        var seconds = window ?? 60;
        if (seconds < 1)
        {
            throw new Protocol.InputException("window must be at least 1 second.");
        }

        return Results.Json(new
        {
            name = model.Name,
            windowSeconds = seconds,
            versions = loaded.Select(state => new { version = state.Manifest.Version, figures = state.Loaded!.Stats.Snapshot(seconds) }).ToArray(),
            shadow,
        });
    }

    /// <summary>
    /// The recent rows a version answered (default the stable version): at most <c>max</c> (default all kept) of the
    /// most recent, optionally only those answered in the whole seconds from <c>from</c> up to <c>to</c>, oldest
    /// first; inputs row-major with a missing value as null, one prediction per row.
    /// </summary>
    private static async Task SampleAsync(HttpContext context, InferenceHandler handler, int? version, int? max, string? from, string? to)
    {
        var model = handler.FindModel(context);
        var chosen = version ?? model.Route?.Stable
            ?? throw new ServingException(StatusCodes.Status503ServiceUnavailable, "not_loaded", $"Model '{model.Name}' has no loaded version yet.");
        var loaded = model.Find(chosen)?.Loaded
            ?? throw new ServingException(StatusCodes.Status404NotFound, "not_found", $"Model '{model.Name}' has no loaded version {chosen}.");
        var sample = loaded.Sample
            ?? throw new ServingException(StatusCodes.Status409Conflict, "no_sample", "The service keeps no prediction samples (Serving:SampleRows is 0).");
        if (max is < 0)
        {
            throw new Protocol.InputException("max must be 0 or more.");
        }

        var start = ParseTime(from, "from");
        var end = ParseTime(to, "to");
        if (start is { } s && end is { } e && s.ToUnixTimeSeconds() >= e.ToUnixTimeSeconds())
        {
            throw new Protocol.InputException("from must be at least a second before to.");
        }

        var rows = sample.Read(max ?? sample.Capacity, start?.ToUnixTimeSeconds(), end?.ToUnixTimeSeconds());
        var body = new System.Buffers.ArrayBufferWriter<byte>(256 + (rows.Inputs.Length * 12));
        using (var json = new System.Text.Json.Utf8JsonWriter(body))
        {
            json.WriteStartObject();
            json.WriteString("name", model.Name);
            json.WriteNumber("version", chosen);
            json.WriteNumber("features", rows.Features);
            json.WriteNumber("capacity", sample.Capacity);
            json.WriteNumber("recorded", rows.Recorded);
            json.WriteNumber("rows", rows.Rows);
            WriteValues(json, "inputs", rows.Inputs);
            WriteValues(json, "predictions", rows.Predictions);
            json.WriteEndObject();
        }

        context.Response.ContentType = "application/json";
        context.Response.ContentLength = body.WrittenCount;
        await context.Response.Body.WriteAsync(body.WrittenMemory, context.RequestAborted).ConfigureAwait(false);
    }

    private static void WriteValues(System.Text.Json.Utf8JsonWriter json, string name, float[] values)
    {
        json.WriteStartArray(name);
        foreach (var value in values)
        {
            if (float.IsFinite(value))
            {
                json.WriteNumberValue(value);
            }
            else
            {
                json.WriteNullValue();
            }
        }

        json.WriteEndArray();
    }

    private static DateTimeOffset? ParseTime(string? value, string name)
    {
        if (value is null)
        {
            return null;
        }

        return DateTimeOffset.TryParse(value, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var time)
            ? time
            : throw new Protocol.InputException($"{name} must be an ISO 8601 time; got '{value}'.");
    }

    private static object Describe(ServedModel model) => new
    {
        name = model.Name,
        routing = model.Route,
        versions = model.Versions.Select(ModelEndpoints.DescribeVersion).ToArray(),
    };

    private sealed record TrafficBody(int? Candidate, double? Weight, int? Shadow, double? ShadowShare);

    private sealed record PromoteBody(int? Version);
}
