using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;
using Workflows.Durable.AzureStorage;
using Workflows.Functions.Samples;
using Workflows.Host;
using Workflows.Host.Azurite;
using Workflows.Host.Hosting;

namespace Workflows.Bench;

/// <summary>
/// The <c>http-start</c> scenario: the function app on the real host (Kestrel on a free loopback port, Azurite in
/// memory or the in-memory backend), <c>--count</c> FanOutFanIn(1) orchestrations started over HTTP through the
/// generic starter by <c>--concurrency</c> clients, then waited for over the management API until all completed.
/// Reports starts/s, start latency percentiles and completions/s; the last line is one JSON object.
/// </summary>
internal static class HttpStartScenario
{
    private const string Api = "runtime/webhooks/durabletask/instances";
    private static readonly TimeSpan RunTimeout = TimeSpan.FromMinutes(10);
    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web);

    public static async Task<int> RunAsync(BenchArgs args)
    {
        args.AllowOnly("count", "concurrency", "backend");
        var count = args.GetInt("count", 1000, 1);
        var concurrency = args.GetInt("concurrency", 32, 1);
        var backend = args.GetString("backend", "azurite").ToLowerInvariant();
        if (backend is not ("azurite" or "memory"))
        {
            throw new UsageException($"option --backend: '{backend}' is not azurite or memory.");
        }

        Console.WriteLine($"http-start benchmark: backend={backend} count={count} concurrency={concurrency} processors={Environment.ProcessorCount}");
        var repository = AzuriteProcess.FindRepositoryRoot(AppContext.BaseDirectory);
        await using var azurite = backend == "azurite" ? await AzuriteProcess.StartAsync(repository) : null;
        var root = Directory.CreateTempSubdirectory("workflows-http-start-").FullName;
        try
        {
            await File.WriteAllTextAsync(
                Path.Combine(root, "host.json"),
                $$"""{ "extensions": { "durableTask": { "hubName": "b{{Guid.NewGuid().ToString("N")[..20]}}", "storageProvider": { "partitionCount": 4 } } } }""");
            var builder = FunctionsHost.CreateBuilder(
                [
                    "--urls=http://127.0.0.1:0",
                    "--AzureWebJobsScriptRoot=" + root,
                    "--AZURE_FUNCTIONS_ENVIRONMENT=Development",
                    "--WorkflowsExportLocalSettings=false",
                    "--WorkflowsGrpcPort=0",
                    azurite is null ? "--WorkflowsStorageProvider=InMemory" : "--AzureWebJobsStorage=" + azurite.ConnectionString,
                ],
                typeof(FanOutFanIn).Assembly);
            builder.Logging.SetMinimumLevel(LogLevel.Warning);
            await using var app = builder.Build();
            await app.StartAsync();
            using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = concurrency })
            {
                BaseAddress = new Uri(app.Urls.First().TrimEnd('/') + "/"),
                Timeout = RunTimeout,
            };
            using var timeout = new CancellationTokenSource(RunTimeout);

            // Warm-up: JIT, connection pool, queue and table creation paths, outside the measurement.
            await StartAllAsync(http, Math.Min(20, count), concurrency, timeout.Token);
            await WaitForAllAsync(http, timeout.Token);

            var wall = Stopwatch.StartNew();
            var latencies = await StartAllAsync(http, count, concurrency, timeout.Token);
            var startSeconds = wall.Elapsed.TotalSeconds;
            await WaitForAllAsync(http, timeout.Token);
            var completeSeconds = wall.Elapsed.TotalSeconds;
            await VerifyCompletedAsync(http, count + Math.Min(20, count), timeout.Token);
            await app.StopAsync(CancellationToken.None);

            Array.Sort(latencies);
            var report = new
            {
                scenario = "http-start",
                backend,
                count,
                concurrency,
                startsPerSecond = Math.Round(count / startSeconds, 1),
                startP50Ms = Math.Round(Percentile(latencies, 0.50), 2),
                startP99Ms = Math.Round(Percentile(latencies, 0.99), 2),
                startMaxMs = Math.Round(latencies[^1], 2),
                completedPerSecond = Math.Round(count / completeSeconds, 1),
                wallSeconds = Math.Round(completeSeconds, 3),
            };
            Console.WriteLine();
            Console.WriteLine("| starts/s | p50 start ms | p99 start ms | max start ms | completed/s | wall s |");
            Console.WriteLine("|---|---|---|---|---|---|");
            Console.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"| {report.startsPerSecond} | {report.startP50Ms} | {report.startP99Ms} | {report.startMaxMs} | {report.completedPerSecond} | {report.wallSeconds} |"));
            Console.WriteLine(JsonSerializer.Serialize(report, JsonOptions));
            return 0;
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    /// <summary>Starts <paramref name="count"/> runs with <paramref name="concurrency"/> clients; returns each start's latency in ms.</summary>
    private static async Task<double[]> StartAllAsync(HttpClient http, int count, int concurrency, CancellationToken cancellationToken)
    {
        var latencies = new double[count];
        var next = -1;
        var clients = Enumerable.Range(0, concurrency).Select(async _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < count)
            {
                var started = Stopwatch.GetTimestamp();
                using var content = new StringContent("1", System.Text.Encoding.UTF8, "application/json");
                using var response = await http.PostAsync(new Uri("api/orchestrators/FanOutFanIn", UriKind.Relative), content, cancellationToken);
                latencies[i] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                if (response.StatusCode != HttpStatusCode.Accepted)
                {
                    throw new BenchFailedException($"start {i} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(cancellationToken)}");
                }
            }
        });
        await Task.WhenAll(clients);
        return latencies;
    }

    /// <summary>Polls the list API until no instance is Pending or Running.</summary>
    private static async Task WaitForAllAsync(HttpClient http, CancellationToken cancellationToken)
    {
        while (true)
        {
            var unfinished = await http.GetFromJsonAsync<JsonElement>($"{Api}?runtimeStatus=Pending,Running&top=1", cancellationToken);
            if (unfinished.GetArrayLength() == 0)
            {
                return;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(100), cancellationToken);
        }
    }

    /// <summary>Counts Completed instances page by page (continuation header); every run must have completed with output 0.</summary>
    private static async Task VerifyCompletedAsync(HttpClient http, int expected, CancellationToken cancellationToken)
    {
        var completed = 0;
        string? token = null;
        do
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"{Api}?runtimeStatus=Completed&top=1000");
            if (token is not null)
            {
                request.Headers.Add("x-ms-continuation-token", token);
            }

            using var response = await http.SendAsync(request, cancellationToken);
            var page = await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken);
            foreach (var instance in page.EnumerateArray())
            {
                completed += instance.GetProperty("output").GetInt64() == 0 ? 1 : throw new BenchFailedException($"instance {instance.GetProperty("instanceId")} has a wrong output.");
            }

            token = response.Headers.TryGetValues("x-ms-continuation-token", out var values) ? values.Single() : null;
        }
        while (token is not null);

        if (completed != expected)
        {
            throw new BenchFailedException($"{completed} instances completed; expected {expected}.");
        }
    }

    private static double Percentile(double[] sorted, double fraction) =>
        sorted[Math.Clamp((int)Math.Ceiling(fraction * sorted.Length) - 1, 0, sorted.Length - 1)];
}
