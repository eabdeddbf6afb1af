using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace Workflows.Cli;

/// <summary>
/// Talks to a host's Durable Functions HTTP API under <c>runtime/webhooks/durabletask/</c>, and turns every answer
/// that is not a success into a <see cref="CliException"/> with its exit code. The key travels in the
/// <c>x-functions-key</c> header only (never in a URL, so no log or message can show it).
/// </summary>
internal sealed class DurableApiClient : IDisposable
{
    public const string ContinuationHeader = "x-ms-continuation-token";

    private const string WebhookBase = "runtime/webhooks/durabletask/";

    private readonly HttpClient _http;
    private readonly Uri _hostUrl;

    public DurableApiClient(Uri hostUrl, string? key, HttpMessageHandler? handler)
    {
        _hostUrl = hostUrl;
        var baseAddress = new Uri(hostUrl.AbsoluteUri.EndsWith('/') ? hostUrl.AbsoluteUri : hostUrl.AbsoluteUri + "/");
        _http = handler is null ? new HttpClient() : new HttpClient(handler, disposeHandler: false);
        _http.BaseAddress = new Uri(baseAddress, WebhookBase);
        _http.Timeout = TimeSpan.FromSeconds(60);
        if (!string.IsNullOrEmpty(key))
        {
            _http.DefaultRequestHeaders.Add("x-functions-key", key);
            HasKey = true;
        }
    }

    public bool HasKey { get; }

    /// <summary>The path of one instance's resource: <c>instances/{id}</c>, the id escaped as one segment.</summary>
    public static string InstancePath(string instanceId) => "instances/" + Uri.EscapeDataString(instanceId);

    /// <summary>
    /// Sends a request and returns the success answer. <paramref name="instanceId"/> names the instance the request is
    /// about, so a 404 says which one is unknown.
    /// </summary>
    public async Task<ApiAnswer> SendAsync(HttpMethod method, string relativeUri, string? jsonBody, string? instanceId, CancellationToken cancellationToken, string? continuationToken = null)
    {
        using var request = new HttpRequestMessage(method, new Uri(relativeUri, UriKind.Relative));
        if (jsonBody is not null)
        {
            request.Content = new StringContent(jsonBody, Encoding.UTF8, "application/json");
        }
        else if (method == HttpMethod.Post)
        {
            // The host takes JSON requests only; an empty JSON body is "no input".
            request.Content = new StringContent(string.Empty, Encoding.UTF8, "application/json");
        }

        if (continuationToken is not null)
        {
            request.Headers.TryAddWithoutValidation(ContinuationHeader, continuationToken);
        }

        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, cancellationToken);
        }
        catch (HttpRequestException exception) when (IsUnreachable(exception))
        {
            throw new CliException(ExitCodes.HostDown, $"no host answers at {_hostUrl}; start it with ./run.sh");
        }
        catch (HttpRequestException exception)
        {
            throw new CliException(ExitCodes.HostError, $"the request to {_hostUrl} failed: {exception.Message}");
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new CliException(ExitCodes.HostError, $"the host at {_hostUrl} did not answer within {_http.Timeout.TotalSeconds:0} s");
        }

        using (response)
        {
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            if (response.IsSuccessStatusCode)
            {
                var token = response.Headers.TryGetValues(ContinuationHeader, out var values) ? values.FirstOrDefault() : null;
                return new ApiAnswer(response.StatusCode, body, token);
            }

            throw Failure(response.StatusCode, response.Content.Headers.ContentType, body, instanceId);
        }
    }

    /// <summary>Sends a request whose success answer is JSON, and returns it parsed.</summary>
    public async Task<JsonElement> GetJsonAsync(string relativeUri, string? instanceId, CancellationToken cancellationToken)
    {
        var answer = await SendAsync(HttpMethod.Get, relativeUri, null, instanceId, cancellationToken);
        return answer.Json();
    }

    public void Dispose() => _http.Dispose();

    private CliException Failure(HttpStatusCode status, MediaTypeHeaderValue? contentType, string body, string? instanceId)
    {
        var (title, detail) = Problem(contentType, body);
        var code = (int)status;
        if (status is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
        {
            return new CliException(
                ExitCodes.KeyRefused,
                HasKey
                    ? $"the host at {_hostUrl} refused the key given (--key or DURABLE_KEY); the management API needs the master key or the durabletask_extension system key"
                    : $"the host at {_hostUrl} wants a key: pass the master key with --key or DURABLE_KEY");
        }

        if (status == HttpStatusCode.NotFound)
        {
            var noRoute = detail?.Contains("no such route", StringComparison.Ordinal) == true;
            return noRoute
                ? new CliException(ExitCodes.HostError, $"{_hostUrl} has no Durable Functions HTTP API ({detail})")
                : new CliException(ExitCodes.NotFound, instanceId is not null ? $"no instance '{instanceId}'" : detail ?? "not found (404)");
        }

        if (code is >= 400 and < 500)
        {
            return new CliException(ExitCodes.Refused, detail is null ? $"the host refused the request ({code} {title})" : $"{title}: {detail}");
        }

        return new CliException(ExitCodes.HostError, detail is null ? $"the host failed ({code})" : $"the host failed ({code}): {detail}");
    }

    /// <summary>The title and detail of a problem+json body; the reason phrase and no detail otherwise.</summary>
    private static (string Title, string? Detail) Problem(MediaTypeHeaderValue? contentType, string body)
    {
        if (contentType?.MediaType is { } media && media.EndsWith("json", StringComparison.OrdinalIgnoreCase) && body.Length > 0)
        {
            try
            {
                using var document = JsonDocument.Parse(body);
                if (document.RootElement.ValueKind == JsonValueKind.Object)
                {
                    var title = document.RootElement.TryGetProperty("title", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString()! : "Error";
                    var detail = document.RootElement.TryGetProperty("detail", out var d) && d.ValueKind == JsonValueKind.String ? d.GetString() : null;
                    return (title, detail);
                }
            }
            catch (JsonException)
            {
                // Not problem+json after all: report the status alone.
            }
        }

        return ("Error", null);
    }

    private static bool IsUnreachable(HttpRequestException exception) =>
        exception.HttpRequestError is HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError
        || exception.InnerException is SocketException { SocketErrorCode: SocketError.ConnectionRefused or SocketError.HostNotFound or SocketError.HostUnreachable or SocketError.NetworkUnreachable };
}
