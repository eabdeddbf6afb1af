using System.Globalization;
using System.Reflection;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;
using Workflows.Serving.Configuration;
using Workflows.Serving.Feedback;
using Workflows.Serving.Models;
using Workflows.Serving.Scoring;

namespace Workflows.Serving.Http;

/// <summary>
/// The public routes: Open Inference Protocol v2 (server metadata, health, model metadata and readiness, infer), v1
/// predict, the model report and feedback. Versioned routes take the version the URL names; the others route.
/// </summary>
internal static class ModelEndpoints
{
    public static void Map(IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/v2", () => Results.Json(new
        {
            name = "workflows-serving",
            version = typeof(ModelEndpoints).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0",
            extensions = Array.Empty<string>(),
        }));
        endpoints.MapGet("/v2/health/live", () => Results.Json(new { live = true }));
        endpoints.MapGet("/v2/health/ready", (ModelCatalog catalog) =>
            Results.Json(new { ready = catalog.Ready }, statusCode: catalog.Ready ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable));

        foreach (var prefix in new[] { "/v2/models/{name}", "/v2/models/{name}/versions/{version}" })
        {
            endpoints.MapPost(prefix + "/infer", (HttpContext context, InferenceHandler handler) => handler.InferV2Async(context));
            endpoints.MapGet(prefix, Metadata);
            endpoints.MapGet(prefix + "/ready", Ready);
            endpoints.MapGet(prefix + "/report", Report);
        }

        endpoints.MapPost("/v1/models/{name}:predict", (HttpContext context, InferenceHandler handler) => handler.PredictV1Async(context));
        endpoints.MapPost("/v2/models/{name}/feedback", FeedbackAsync);
    }

    /// <summary>v2 model metadata; for the unversioned route, of the stable version, with the routing and every version's state.</summary>
    private static IResult Metadata(HttpContext context, InferenceHandler handler)
    {
        var model = handler.FindModel(context);
        var named = InferenceHandler.FindVersion(context, model);
        if (named is not null)
        {
            return named.Loaded is { } loaded
                ? Results.Json(Describe(model.Name, [named], loaded.Schema))
                : Results.Json(new { name = model.Name, versions = new[] { Text(named.Manifest.Version) }, state = "failed", error = named.Error });
        }

        var route = model.Route;
        var schema = route is null ? null : model.Loaded(route.Stable)?.Schema;
        var versions = model.Versions;
        return Results.Json(new
        {
            name = model.Name,
            versions = versions.Where(state => state.Loaded is not null).Select(state => Text(state.Manifest.Version)).ToArray(),
            platform = schema?.Platform,
            inputs = schema is null ? null : Inputs(schema),
            outputs = schema is null ? null : Outputs(schema),
            routing = route is null ? null : new
            {
                stable = route.Stable,
                candidate = route.Candidate,
                candidateWeight = route.CandidateWeight,
                shadow = route.Shadow,
                shadowShare = route.ShadowShare,
            },
            failed = versions.Where(state => state.Error is not null).Select(state => new { version = Text(state.Manifest.Version), error = state.Error }).ToArray(),
        });
    }

    private static object Describe(string name, IEnumerable<VersionState> versions, ModelSchema schema) => new
    {
        name,
        versions = versions.Select(state => Text(state.Manifest.Version)).ToArray(),
        platform = schema.Platform,
        inputs = Inputs(schema),
        outputs = Outputs(schema),
    };

    private static object[] Inputs(ModelSchema schema) => [new { name = schema.InputName, datatype = "FP32", shape = new long[] { -1, schema.FeatureCount } }];

    private static object[] Outputs(ModelSchema schema) => schema.LabelName is null
        ? [new { name = schema.ValuesName, datatype = "FP32", shape = new long[] { -1, schema.ValueWidth } }]
        : [new { name = schema.ValuesName, datatype = "FP32", shape = new long[] { -1, schema.ValueWidth } }, new { name = schema.LabelName, datatype = "INT64", shape = new long[] { -1 } }];

    private static IResult Ready(HttpContext context, InferenceHandler handler)
    {
        var model = handler.FindModel(context);
        var named = InferenceHandler.FindVersion(context, model);
        var ready = named is null ? model.Route is not null : named.Loaded is not null;
        return Results.Json(
            new { name = model.Name, version = named is null ? null : Text(named.Manifest.Version), ready, error = named?.Error },
            statusCode: ready ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable);
    }

    /// <summary>Per version: size on disk, load time, and the single-row and batched latency timed at load.</summary>
    private static IResult Report(HttpContext context, InferenceHandler handler)
    {
        var model = handler.FindModel(context);
        var named = InferenceHandler.FindVersion(context, model);
        var versions = named is null ? model.Versions : [named];
        return Results.Json(new
        {
            name = model.Name,
            versions = versions.Select(DescribeVersion).ToArray(),
        });
    }

    /// <summary>
    /// <c>{"feedback": [{"id", "labels": [label per row]}]}</c>: scores each remembered request's labels against the
    /// version that answered it. Answers how many were accepted and which ids were unknown (never seen, forgotten,
    /// already labelled) or had another row count.
    /// </summary>
    private static async Task<IResult> FeedbackAsync(HttpContext context, InferenceHandler handler, RecentPredictions recent, IOptions<ServingOptions> options)
    {
        var model = handler.FindModel(context);
        var body = await RequestBody.ReadJsonAsync<FeedbackBody>(context.Request, options.Value.MaxRequestBodyBytes).ConfigureAwait(false);
        if (body.Feedback is null)
        {
            throw new Protocol.InputException("Send {\"feedback\": [{\"id\": request id, \"labels\": [label per row]}]}.");
        }

        var accepted = 0;
        var unknown = new List<string>();
        var mismatched = new List<string>();
        foreach (var item in body.Feedback)
        {
            if (item.Id is null || item.Labels is null || !recent.TryTake(item.Id, model.Name, out var prediction))
            {
                unknown.Add(item.Id ?? string.Empty);
                continue;
            }

            if (item.Labels.Length != prediction.Labels.Length)
            {
                mismatched.Add(item.Id);
                continue;
            }

            var correct = 0;
            for (var i = 0; i < item.Labels.Length; i++)
            {
                correct += item.Labels[i] == prediction.Labels[i] ? 1 : 0;
            }

            if (model.Loaded(prediction.Version) is { } version)
            {
                version.Stats.RecordFeedback(item.Labels.Length, correct);
                version.Instruments.FeedbackCorrect.Inc(correct);
                version.Instruments.FeedbackWrong.Inc(item.Labels.Length - correct);
            }

            accepted++;
        }

        return Results.Json(new { accepted, unknown, mismatched });
    }

    /// <summary>A version's state as the report and the admin API show it: format, loaded or failed with the error, the load report.</summary>
    public static object DescribeVersion(VersionState state) => new
    {
        version = state.Manifest.Version,
        format = state.Manifest.Format,
        registeredAt = state.Manifest.RegisteredAt,
        state = state.Loaded is null ? "failed" : "loaded",
        error = state.Error,
        report = state.Loaded?.Report,
    };

    private static string Text(int version) => version.ToString(CultureInfo.InvariantCulture);

    private sealed record FeedbackBody(FeedbackItem[]? Feedback);

    private sealed record FeedbackItem(string? Id, long[]? Labels);
}
