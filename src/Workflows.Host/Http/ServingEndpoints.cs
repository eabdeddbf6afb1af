using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Workflows.Host.Security;

namespace Workflows.Host.Http;

/// <summary>
/// The dashboard's view of the prediction service the app calls, found by the app's own settings
/// (<c>WorkflowsServingUrl</c>, and <c>WorkflowsServingAdminKey</c> or the file <c>WorkflowsServingAdminKeyFile</c>
/// names): <c>GET admin/host/serving/models</c> and <c>GET admin/host/serving/models/{name}/metrics?window=</c> read
/// the service's admin API with its admin key, which stays in the host. Master key, as the rest of <c>admin/host</c>.
/// </summary>
internal static class ServingEndpoints
{
    public const string UrlSetting = "WorkflowsServingUrl";
    public const string KeySetting = "WorkflowsServingAdminKey";
    public const string KeyFileSetting = "WorkflowsServingAdminKeyFile";

    // No redirects: the admin key travels in a header that a redirect would carry to wherever it points.
    private static readonly HttpClient Http = new(new SocketsHttpHandler { AllowAutoRedirect = false, PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
    {
        Timeout = TimeSpan.FromSeconds(10),
        MaxResponseContentBufferSize = 4 * 1024 * 1024,
    };

    public static void MapServingEndpoints(this IEndpointRouteBuilder endpoints)
    {
        var serving = endpoints.MapGroup("admin/host/serving").WithMetadata(new RequiredKeyLevel(AuthorizationLevel.Admin));
        serving.MapGet("models", (HttpContext context, IConfiguration configuration) => ForwardAsync(context, configuration, "admin/models"));
        serving.MapGet("models/{name}/metrics", (HttpContext context, IConfiguration configuration, string name, int? window) =>
            window is < 1 or > 3600
                ? Task.FromResult(Problems.BadRequest($"window must be 1 to 3600 seconds; got {window}."))
                : ForwardAsync(context, configuration, $"admin/models/{Uri.EscapeDataString(name)}/metrics?window={window ?? 10}"));
    }

    private static async Task<IResult> ForwardAsync(HttpContext context, IConfiguration configuration, string path)
    {
        if (configuration[UrlSetting] is not { Length: > 0 } url
            || !Uri.TryCreate(url.EndsWith('/') ? url : url + "/", UriKind.Absolute, out var baseAddress)
            || (baseAddress.Scheme != Uri.UriSchemeHttp && baseAddress.Scheme != Uri.UriSchemeHttps))
        {
            return Problems.NotFound($"No prediction service is configured: the app setting {UrlSetting} is not set to its http or https URL.");
        }

        // Named by its scheme, host and port only: a URL with credentials in it never reaches an answer.
        var service = baseAddress.GetLeftPart(UriPartial.Authority).Replace(baseAddress.UserInfo + "@", string.Empty, StringComparison.Ordinal);

        string key;
        try
        {
            key = configuration[KeySetting] is { Length: > 0 } given ? given
                : configuration[KeyFileSetting] is { Length: > 0 } file ? (await File.ReadAllTextAsync(file, context.RequestAborted).ConfigureAwait(false)).Trim()
                : string.Empty;
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            key = string.Empty;
        }

        if (key.Length == 0)
        {
            return Problems.Create(StatusCodes.Status503ServiceUnavailable, "No key", $"No admin key for the prediction service: set {KeySetting}, or {KeyFileSetting} to a readable file that holds it.");
        }

        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(baseAddress, path));
        request.Headers.Add("x-admin-key", key);
        try
        {
            using var response = await Http.SendAsync(request, context.RequestAborted).ConfigureAwait(false);
            var body = await response.Content.ReadAsStringAsync(context.RequestAborted).ConfigureAwait(false);
            return (int)response.StatusCode switch
            {
                >= 200 and < 300 => Results.Content(body, "application/json"),
                StatusCodes.Status404NotFound => Problems.NotFound($"The prediction service at {service} does not know {path}."),
                StatusCodes.Status401Unauthorized or StatusCodes.Status403Forbidden =>
                    Problems.Create(StatusCodes.Status502BadGateway, "Bad gateway", $"The prediction service at {service} refused the admin key of {KeySetting} or {KeyFileSetting}."),
                var status => Problems.Create(StatusCodes.Status502BadGateway, "Bad gateway", $"The prediction service at {service} answered {status}."),
            };
        }
        catch (Exception exception) when (exception is HttpRequestException or TaskCanceledException && !context.RequestAborted.IsCancellationRequested)
        {
            return Problems.Create(StatusCodes.Status502BadGateway, "Bad gateway", $"The prediction service at {service} does not answer.");
        }
    }
}
