using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Workflows.Functions.Canary;

/// <summary>
/// <see cref="IServingAdmin"/> over HTTP: the service at <see cref="BaseAddress"/>, the admin key sent as
/// <c>x-admin-key</c>. A refusal (401/403: wrong or no key; 409: a routing change the service cannot make; anything
/// but 2xx) throws <see cref="HttpRequestException"/> with the service's own message.
/// </summary>
public sealed class HttpServingAdmin : IServingAdmin, IDisposable
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private readonly HttpClient _client;
    private readonly Func<string> _adminKey;

    /// <summary>
    /// Calls the service at <paramref name="baseAddress"/> with the key <paramref name="adminKey"/> gives (asked for
    /// at each call, so a key file written after start-up is found).
    /// </summary>
    public HttpServingAdmin(Uri baseAddress, Func<string> adminKey, HttpMessageHandler? handler = null)
    {
        ArgumentNullException.ThrowIfNull(baseAddress);
        ArgumentNullException.ThrowIfNull(adminKey);
        BaseAddress = baseAddress;
        _adminKey = adminKey;
        _client = handler is null ? new HttpClient() : new HttpClient(handler);
        _client.BaseAddress = new Uri(baseAddress.ToString().TrimEnd('/') + "/");
        _client.Timeout = TimeSpan.FromSeconds(30);
    }

    /// <summary>The service's address.</summary>
    public Uri BaseAddress { get; }

    /// <inheritdoc />
    public async Task<ServingRoute?> GetRouteAsync(string model, CancellationToken cancellationToken)
    {
        using var request = Request(HttpMethod.Get, $"admin/models/{Uri.EscapeDataString(model)}");
        using var response = await _client.SendAsync(request, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }

        return Route(await ReadAsync(response, cancellationToken).ConfigureAwait(false));
    }

    /// <inheritdoc />
    public async Task<int> RefreshAsync(CancellationToken cancellationToken)
    {
        using var request = Request(HttpMethod.Post, "admin/refresh");
        using var response = await _client.SendAsync(request, cancellationToken).ConfigureAwait(false);
        return (await ReadAsync(response, cancellationToken).ConfigureAwait(false))["loaded"]?.GetValue<int>() ?? 0;
    }

    /// <inheritdoc />
    public async Task<ServingRoute> SetTrafficAsync(string model, int? candidate, double weight, int? shadow, double shadowShare, CancellationToken cancellationToken)
    {
        var body = new JsonObject
        {
            ["candidate"] = candidate,
            ["weight"] = weight,
            ["shadow"] = shadow,
            ["shadowShare"] = shadowShare,
        };
        using var request = Request(HttpMethod.Put, $"admin/models/{Uri.EscapeDataString(model)}/traffic", body);
        using var response = await _client.SendAsync(request, cancellationToken).ConfigureAwait(false);
        return Route(await ReadAsync(response, cancellationToken).ConfigureAwait(false));
    }

    /// <inheritdoc />
    public async Task<ServingRoute> PromoteAsync(string model, int version, CancellationToken cancellationToken)
    {
        using var request = Request(HttpMethod.Post, $"admin/models/{Uri.EscapeDataString(model)}/promote", new JsonObject { ["version"] = version });
        using var response = await _client.SendAsync(request, cancellationToken).ConfigureAwait(false);
        return Route(await ReadAsync(response, cancellationToken).ConfigureAwait(false));
    }

    /// <inheritdoc />
    public async Task<ServingWindow> GetMetricsAsync(string model, DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken)
    {
        var query = string.Create(
            CultureInfo.InvariantCulture,
            $"admin/models/{Uri.EscapeDataString(model)}/metrics?from={Uri.EscapeDataString(from.UtcDateTime.ToString("O", CultureInfo.InvariantCulture))}&to={Uri.EscapeDataString(to.UtcDateTime.ToString("O", CultureInfo.InvariantCulture))}");
        using var request = Request(HttpMethod.Get, query);
        using var response = await _client.SendAsync(request, cancellationToken).ConfigureAwait(false);
        var body = await ReadAsync(response, cancellationToken).ConfigureAwait(false);
        var versions = new List<ServingVersionFigures>();
        foreach (var node in body["versions"]?.AsArray() ?? [])
        {
            var figures = node!["figures"]!;
            var histogram = (node["histogram"]?.AsArray() ?? [])
                .Select(b => new ServingLatencyBucket((double)b!["upperMs"]!, (long)b["count"]!))
                .ToList();
            versions.Add(new ServingVersionFigures(
                (int)node["version"]!,
                (bool?)node["complete"] ?? false,
                (long)figures["requests"]!,
                (long)figures["errors"]!,
                (double?)figures["p99Ms"],
                (long)figures["labelledRows"]!,
                (double?)figures["accuracy"],
                histogram,
                (long?)figures["shadowCompared"] ?? 0,
                (long?)figures["shadowDisagreed"] ?? 0));
        }

        return new ServingWindow(versions);
    }

    /// <inheritdoc />
    public async Task<ServingSample> GetSampleAsync(string model, int? version, int max, DateTimeOffset? from, DateTimeOffset? to, CancellationToken cancellationToken)
    {
        var query = new StringBuilder(string.Create(CultureInfo.InvariantCulture, $"admin/models/{Uri.EscapeDataString(model)}/sample?max={max}"));
        if (version is { } v)
        {
            query.Append(CultureInfo.InvariantCulture, $"&version={v}");
        }

        if (from is { } start)
        {
            query.Append("&from=").Append(Uri.EscapeDataString(start.UtcDateTime.ToString("O", CultureInfo.InvariantCulture)));
        }

        if (to is { } end)
        {
            query.Append("&to=").Append(Uri.EscapeDataString(end.UtcDateTime.ToString("O", CultureInfo.InvariantCulture)));
        }

        using var request = Request(HttpMethod.Get, query.ToString());
        using var response = await _client.SendAsync(request, cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            await ReadAsync(response, cancellationToken).ConfigureAwait(false); // throws with the service's message
        }

        var bytes = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        using var document = JsonDocument.Parse(bytes);
        var root = document.RootElement;
        return new ServingSample(
            root.GetProperty("version").GetInt32(),
            root.GetProperty("features").GetInt32(),
            root.GetProperty("recorded").GetInt64(),
            Floats(root.GetProperty("inputs")),
            Floats(root.GetProperty("predictions")));
    }

    /// <inheritdoc />
    public void Dispose() => _client.Dispose();

    /// <summary>A JSON array of numbers, null read as NaN (a missing value).</summary>
    private static float[] Floats(JsonElement array)
    {
        var values = new float[array.GetArrayLength()];
        var i = 0;
        foreach (var item in array.EnumerateArray())
        {
            values[i++] = item.ValueKind == JsonValueKind.Null ? float.NaN : item.GetSingle();
        }

        return values;
    }

    private HttpRequestMessage Request(HttpMethod method, string path, JsonNode? body = null)
    {
        var request = new HttpRequestMessage(method, path);
        request.Headers.Add("x-admin-key", _adminKey());
        if (body is not null)
        {
            // With its length: the service reads a promote body only when the request says how long it is.
            request.Content = new StringContent(body.ToJsonString(Json), Encoding.UTF8, "application/json");
        }

        return request;
    }

    private static async Task<JsonNode> ReadAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            string? detail = null;
            try
            {
                detail = (string?)JsonNode.Parse(text)?["error"];
            }
            catch (JsonException)
            {
                // Not problem+json: the raw text below says what came back.
            }

            throw new HttpRequestException(
                $"serving admin {response.RequestMessage?.Method} {response.RequestMessage?.RequestUri?.AbsolutePath} answered {(int)response.StatusCode}: {detail ?? text}",
                null,
                response.StatusCode);
        }

        return JsonNode.Parse(text) ?? throw new HttpRequestException("serving admin answered an empty body.");
    }

    private static ServingRoute Route(JsonNode body)
    {
        var routing = body["routing"] ?? throw new HttpRequestException($"model '{(string?)body["name"]}' has no loaded version at the serving service.");
        var loaded = (body["versions"]?.AsArray() ?? [])
            .Where(v => (string?)v!["state"] == "loaded")
            .Select(v => (int)v!["version"]!)
            .Order()
            .ToList();
        return new ServingRoute(
            (int)routing["stable"]!,
            (int?)routing["candidate"],
            (double)routing["candidateWeight"]!,
            (int?)routing["shadow"],
            (double)routing["shadowShare"]!,
            loaded);
    }
}
