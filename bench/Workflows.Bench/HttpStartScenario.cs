using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Workflows.Functions.Samples;
using Workflows.Host.Azurite;

namespace Workflows.Bench;

/// <summary>
/// The <c>http-start</c> scenario: the host (Kestrel on a free loopback port, Azurite or the in-memory backend) runs
/// the function app's build output as its worker process; <c>--count</c> FanOutFanIn(1) orchestrations are started
/// over HTTP by <c>--concurrency</c> clients through each starter in turn, then waited for over the management API
/// until all completed. Two starters, one run: the app's generic starter (<c>api/orchestrators/{name}</c>, an HTTP
/// function in the worker process whose <c>[DurableClient]</c> schedules through the host's Durable Task gRPC endpoint)
/// and the host's own start route (<c>runtime/webhooks/durabletask/orchestrators/{name}</c>, in process). Reports
/// starts/s, start latency percentiles and completions/s for each and the worker/in-process starts ratio; the last
/// line is one JSON object.
/// </summary>
internal static class HttpStartScenario
{
    private const string Api = "runtime/webhooks/durabletask/instances";
    private static readonly TimeSpan RunTimeout = TimeSpan.FromMinutes(10);
    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web);

    /// <summary>The starters measured: name in the report, route.</summary>
    private static readonly (string Name, string Route)[] Starters =
    [
        ("worker", "api/orchestrators/" + FanOutFanIn.Name),
        ("inProcess", "runtime/webhooks/durabletask/orchestrators/" + FanOutFanIn.Name),
    ];

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
        await using (var host = await BenchHost.StartAsync(azurite?.ConnectionString, "b" + Guid.NewGuid().ToString("N")[..20], concurrency, RunTimeout))
        {
            var http = host.Http;
            using var timeout = new CancellationTokenSource(RunTimeout);

            var results = new Dictionary<string, StarterResult>(StringComparer.Ordinal);
            var started = 0;
            foreach (var (name, route) in Starters)
            {
                // Warm-up: JIT, connection pool, queue and table creation paths, outside the measurement.
                var warmUp = Math.Min(20, count);
                await StartAllAsync(http, route, warmUp, concurrency, timeout.Token);
                await WaitForAllAsync(http, timeout.Token);

                var wall = Stopwatch.StartNew();
                var latencies = await StartAllAsync(http, route, count, concurrency, timeout.Token);
                var startSeconds = wall.Elapsed.TotalSeconds;
                await WaitForAllAsync(http, timeout.Token);
                var completeSeconds = wall.Elapsed.TotalSeconds;
                started += warmUp + count;
                Array.Sort(latencies);
                results[name] = new StarterResult(
                    Math.Round(count / startSeconds, 1),
                    Math.Round(Percentile(latencies, 0.50), 2),
                    Math.Round(Percentile(latencies, 0.99), 2),
                    Math.Round(latencies[^1], 2),
                    Math.Round(count / completeSeconds, 1),
                    Math.Round(completeSeconds, 3));
            }

            await VerifyCompletedAsync(http, started, timeout.Token);

            var report = new
            {
                scenario = "http-start",
                backend,
                count,
                concurrency,
                worker = results["worker"],
                inProcess = results["inProcess"],
                workerToInProcessStarts = Math.Round(results["worker"].StartsPerSecond / results["inProcess"].StartsPerSecond, 3),
            };
            Console.WriteLine();
            Console.WriteLine("| starter | starts/s | p50 start ms | p99 start ms | max start ms | completed/s | wall s |");
            Console.WriteLine("|---|---|---|---|---|---|---|");
            foreach (var (name, result) in results)
            {
                Console.WriteLine(string.Create(
                    CultureInfo.InvariantCulture,
                    $"| {name} | {result.StartsPerSecond} | {result.StartP50Ms} | {result.StartP99Ms} | {result.StartMaxMs} | {result.CompletedPerSecond} | {result.WallSeconds} |"));
            }

            Console.WriteLine(JsonSerializer.Serialize(report, JsonOptions));
            return 0;
        }
    }

    private sealed record StarterResult(double StartsPerSecond, double StartP50Ms, double StartP99Ms, double StartMaxMs, double CompletedPerSecond, double WallSeconds);

    /// <summary>Starts <paramref name="count"/> runs with <paramref name="concurrency"/> clients; returns each start's latency in ms.</summary>
    private static async Task<double[]> StartAllAsync(HttpClient http, string route, int count, int concurrency, CancellationToken cancellationToken)
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
                using var response = await http.PostAsync(new Uri(route, UriKind.Relative), content, cancellationToken);
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
