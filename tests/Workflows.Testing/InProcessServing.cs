using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;
using Workflows.ML.Data;
using Workflows.Serving.Hosting;
using Xunit;

namespace Workflows.Testing;

/// <summary>
/// The prediction service (src/Workflows.Serving) in this process on a free loopback port, reading the model registry
/// under <c>dataRoot</c> as the function app does, with an admin key for the app's canary activities; and a steady load
/// of v2 inference requests against one model (each with a request key of its own, so a candidate's weight splits
/// them) that counts what was answered and what failed.
/// </summary>
public sealed class InProcessServing : IAsyncDisposable
{
    public const string AdminKey = "in-process-serving-admin-key";

    private readonly WebApplication _app;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _load = [];
    private int _answered;
    private int _failed;
    private string? _firstFailure;

    private InProcessServing(WebApplication app)
    {
        _app = app;
        Http = new HttpClient { BaseAddress = new Uri(app.Urls.First().TrimEnd('/') + "/"), Timeout = TimeSpan.FromSeconds(30) };
    }

    public HttpClient Http { get; }

    /// <summary>The app settings that point the function app's canary and drift activities at this service.</summary>
    public string[] AppSettings => ["WorkflowsServingUrl=" + Http.BaseAddress, "WorkflowsServingAdminKey=" + AdminKey];

    public int Answered => Volatile.Read(ref _answered);

    public int Failed => Volatile.Read(ref _failed);

    public string? FirstFailure => _firstFailure;

    public static async Task<InProcessServing> StartAsync(string dataRoot)
    {
        var builder = ServingApplication.CreateBuilder(
        [
            "--urls=http://127.0.0.1:0",
            "--" + DataRoot.Setting + "=" + dataRoot,
            "--Serving:RegistryPollSeconds=0",
            "--Serving:AdminKey=" + AdminKey,
            "--Serving:CacheEntries=0",
        ]);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        var app = ServingApplication.Build(builder);
        await app.StartAsync();
        return new InProcessServing(app);
    }

    /// <summary>Calls the admin API; fails the test on an error answer.</summary>
    public async Task<JsonNode> AdminAsync(HttpMethod method, string path)
    {
        using var request = new HttpRequestMessage(method, path);
        request.Headers.Add("x-admin-key", AdminKey);
        using var response = await Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{method} {path}: {(int)response.StatusCode} {text}");
        return JsonNode.Parse(text)!;
    }

    /// <summary>The model's routing (<c>stable</c>, <c>candidate</c>, <c>candidateWeight</c>, ...).</summary>
    public async Task<JsonNode> RoutingAsync(string model) => (await AdminAsync(HttpMethod.Get, $"admin/models/{model}"))["routing"]!;

    /// <summary>
    /// Starts <paramref name="workers"/> request loops against <paramref name="model"/>: 20 rows of
    /// <paramref name="features"/> values each, drawn around <paramref name="center"/>, each request with its own key.
    /// </summary>
    public void StartLoad(string model, int features, float center, int workers = 2)
    {
        for (var worker = 0; worker < workers; worker++)
        {
            var id = worker;
            _load.Add(Task.Run(() => LoadAsync(model, features, center, id, _stop.Token)));
        }
    }

    /// <summary>Waits until the load has had <paramref name="requests"/> answers (at most a minute).</summary>
    public async Task WaitForAnswersAsync(int requests)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        while (Answered < requests)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(20), timeout.Token);
        }
    }

    /// <summary>Stops the load and waits for its loops to end.</summary>
    public async Task StopLoadAsync()
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_load);
    }

    public async ValueTask DisposeAsync()
    {
        await StopLoadAsync();
        _stop.Dispose();
        Http.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private async Task LoadAsync(string model, int features, float center, int worker, CancellationToken cancellationToken)
    {
        var random = new Random(worker);
        var i = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            var data = new JsonArray();
            for (var value = 0; value < 20 * features; value++)
            {
                data.Add((float)(center + (random.NextDouble() * 2) - 1));
            }

            var body = new JsonObject
            {
                ["inputs"] = new JsonArray(new JsonObject { ["name"] = "features", ["shape"] = new JsonArray(20, features), ["datatype"] = "FP32", ["data"] = data }),
            };
            using var request = new HttpRequestMessage(HttpMethod.Post, $"v2/models/{model}/infer") { Content = JsonContent.Create(body) };
            request.Headers.Add("x-request-key", $"user-{worker}-{i++}");
            try
            {
                using var response = await Http.SendAsync(request, cancellationToken);
                if (response.IsSuccessStatusCode)
                {
                    Interlocked.Increment(ref _answered);
                }
                else
                {
                    Interlocked.Increment(ref _failed);
                    _firstFailure ??= $"{(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(CancellationToken.None)}";
                }

                // Paced, so the host, its worker and Azurite keep their share of the machine's cores.
                await Task.Delay(TimeSpan.FromMilliseconds(5), cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception exception) when (exception is HttpRequestException or TaskCanceledException)
            {
                // Refused, cut, or past the client's timeout: a failed request.
                Interlocked.Increment(ref _failed);
                _firstFailure ??= exception.Message;
            }
        }
    }
}
