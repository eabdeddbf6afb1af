using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using DurableTask.Core;
using DurableTask.Core.History;
using Workflows.Durable.AzureStorage;
using Workflows.Durable.AzureStorage.Core;
using Workflows.Functions.Samples;
using Workflows.Host.Azurite;
using Workflows.Testing;

namespace Workflows.Bench;

/// <summary>
/// The <c>dashboard</c> scenario, on Azurite with our task hub and the function app, each figure the median of
/// <c>--repeat</c> runs. First, on a hub of its own, FanOutFanIn over <c>--fan-out</c> activities: its history through
/// the management API, and in Debian's Chromium the time from opening it to its timeline drawn. Then
/// <c>--instances</c> instances are created through the task hub's client on another hub (four orchestration names,
/// their queue messages then cleared, so they stay Pending rows that no worker runs) beside one completed run: the
/// list's first page unfiltered and by a name a quarter have, a count per status of the first 10,000 (cold: a filter
/// not asked before), the page's first contentful paint and first rows from navigation; then once each, last, the
/// scans of the whole hub: a name one instance has, a status one instance has, and a count of every instance (null when
/// over a minute). The last line is one JSON object.
/// </summary>
internal static class DashboardScenario
{
    private const string Api = "runtime/webhooks/durabletask/";
    private static readonly string[] SeedNames = ["SeedAlpha", "SeedBeta", "SeedGamma", "SeedDelta"];
    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web);

    public static async Task<int> RunAsync(BenchArgs args)
    {
        args.AllowOnly("instances", "fan-out", "repeat", "concurrency");
        var instances = args.GetInt("instances", 100_000, 1);
        var fanOut = args.GetInt("fan-out", 10_000, 1);
        var repeat = args.GetInt("repeat", 5, 1);
        var concurrency = args.GetInt("concurrency", 64, 1);
        Console.WriteLine($"dashboard benchmark: instances={instances} fan-out={fanOut} repeat={repeat} processors={Environment.ProcessorCount}");

        var repository = AzuriteProcess.FindRepositoryRoot(AppContext.BaseDirectory);
        await using var azurite = await AzuriteProcess.StartAsync(repository);
        await using var browser = await Chromium.StartAsync();

        // The fan-out and its timeline, on a task hub of its own.
        double fanOutSeconds, historyMs, timelineMs;
        int historyBytes;
        await using (var host = await BenchHost.StartAsync(azurite.ConnectionString, "f" + Guid.NewGuid().ToString("N")[..20]))
        {
            var fanOutWall = Stopwatch.StartNew();
            string fanOutId;
            using (var started = await host.Http.PostAsJsonAsync(new Uri(Api + "orchestrators/" + FanOutFanIn.Name, UriKind.Relative), fanOut))
            {
                started.EnsureSuccessStatusCode();
                fanOutId = (await started.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
            }

            await WaitForFanOutAsync(host.Http, fanOutId);
            fanOutSeconds = fanOutWall.Elapsed.TotalSeconds;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"fan-out of {fanOut} completed in {fanOutSeconds:F1} s"));
            historyMs = await MedianAsync(repeat, () => GetAsync(host.Http, "instances/" + fanOutId + "?showHistory=true"));
            historyBytes = (await host.Http.GetByteArrayAsync(new Uri(Api + "instances/" + fanOutId + "?showHistory=true", UriKind.Relative))).Length;

            await browser.NavigateAsync(host.BaseAddress);
            var timeline = new List<double>();
            for (var i = 0; i < repeat; i++)
            {
                timeline.Add((await browser.EvaluateAsync(
                    $"(async () => {{ drawn = null; const t = performance.now(); await showDetail('{fanOutId}'); return performance.now() - t; }})()")).GetDouble());
            }

            timelineMs = Math.Round(Median(timeline), 1);
            var drawnTasks = (await browser.EvaluateAsync("Number(document.querySelector('#timeline rect[data-aggregate]').dataset.tasks)")).GetInt32();
            if (drawnTasks != fanOut)
            {
                throw new InvalidOperationException($"The timeline shows {drawnTasks} tasks; the fan-out ran {fanOut}.");
            }
        }

        // The big task hub: the list, the counts and the page's first paint.
        var hub = "d" + Guid.NewGuid().ToString("N")[..20];
        var seedSeconds = await SeedAsync(azurite.ConnectionString, hub, instances, concurrency);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"seeded {instances} instances in {seedSeconds:F1} s ({instances / seedSeconds:F0}/s)"));
        await using (var host = await BenchHost.StartAsync(azurite.ConnectionString, hub))
        {
            var completed = await host.Http.PostAsJsonAsync(new Uri(Api + "orchestrators/" + FanOutFanIn.Name, UriKind.Relative), 1);
            completed.EnsureSuccessStatusCode();
            await WaitForFanOutAsync(host.Http, (await completed.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!);
            var firstPageMs = await MedianAsync(repeat, () => GetAsync(host.Http, "instances?top=100"));
            var byCommonNameMs = await MedianAsync(repeat, () => GetAsync(host.Http, "instances?top=100&name=" + SeedNames[1]));
            var countColdMs = await MedianAsync(repeat, () => GetAsync(host.Http, "counts?createdTimeFrom=2000-01-01T00:00:" + Random.Shared.Next(10, 59) + "." + Random.Shared.Next(100, 999) + "Z"));
            var counts = await host.Http.GetFromJsonAsync<JsonElement>(new Uri(Api + "counts", UriKind.Relative));
            if (counts.GetProperty("complete").GetBoolean() || counts.GetProperty("total").GetInt64() != counts.GetProperty("limit").GetInt64())
            {
                throw new InvalidOperationException($"The default count of {instances + 1} instances says {counts}; it should stop at its limit.");
            }

            var firstPaint = new List<double>();
            var firstRows = new List<double>();
            for (var i = 0; i < repeat; i++)
            {
                await browser.NavigateAsync(host.BaseAddress);
                firstRows.Add((await browser.EvaluateAsync(
                    "new Promise(done => { const check = () => document.querySelectorAll('#instances tr').length > 0 ? done(performance.now()) : setTimeout(check, 2); check(); })")).GetDouble());
                firstPaint.Add((await browser.EvaluateAsync(
                    "performance.getEntriesByType('paint').filter(p => p.name === 'first-contentful-paint').map(p => p.startTime)[0] || -1")).GetDouble());
            }

            // The page stops refreshing: the scans below are measured alone.
            await browser.EvaluateAsync("{ for (let id = setTimeout(() => {}, 0); id > 0; id--) clearTimeout(id); }");

            // Scans of the whole hub, last and once each (on Azurite one holds up every other request while it runs):
            // null when it took longer than the scan timeout.
            var byRareNameMs = await OnceWithinAsync(() => GetAsync(host.Http, "instances?top=100&name=" + FanOutFanIn.Name, ScanTimeout));
            var byRareStatusMs = await OnceWithinAsync(() => GetAsync(host.Http, "instances?top=100&runtimeStatus=Completed", ScanTimeout));
            var countAllMs = await OnceWithinAsync(() => GetAsync(host.Http, "counts?limit=10000000", ScanTimeout));
            var api = new { firstPageMs, byCommonNameMs, countFirst10000ColdMs = countColdMs, byRareNameMs, byRareStatusMs, countAllMs };
            var page = new
            {
                firstContentfulPaintMs = Math.Round(Median(firstPaint), 1),
                firstRowsMs = Math.Round(Median(firstRows), 1),
                timelineMs,
            };
            var report = new
            {
                scenario = "dashboard",
                instances,
                fanOut,
                repeat,
                seedSeconds = Math.Round(seedSeconds, 1),
                fanOutSeconds = Math.Round(fanOutSeconds, 1),
                api = new { api.firstPageMs, api.byCommonNameMs, api.countFirst10000ColdMs, api.byRareNameMs, api.byRareStatusMs, api.countAllMs, historyMs },
                historyBytes,
                page,
                firstPaintTargetMet = page.firstRowsMs < 1000,
            };
            Console.WriteLine();
            Console.WriteLine("| measure | median ms |");
            Console.WriteLine("|---|---|");
            foreach (var (name, value) in new (string, double?)[]
            {
                ($"API: first page of 100 of {instances + 1} instances", api.firstPageMs), ("API: a name a quarter have", api.byCommonNameMs),
                ("API: counts of the first 10,000 (cold)", api.countFirst10000ColdMs), ($"API: the fan-out's history ({historyBytes / 1024} KiB)", historyMs),
                ("page: first contentful paint", page.firstContentfulPaintMs), ("page: first rows", page.firstRowsMs), ($"page: the {fanOut}-activity timeline", page.timelineMs),
                ("API scan: a name one instance has", api.byRareNameMs), ("API scan: a status one instance has", api.byRareStatusMs), ("API scan: counts of every instance", api.countAllMs),
            })
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {name} | {(value is { } ms ? ms.ToString(CultureInfo.InvariantCulture) : $"over {ScanTimeout.TotalSeconds:F0} s")} |"));
            }

            Console.WriteLine(JsonSerializer.Serialize(report, JsonOptions));
        }

        return 0;
    }

    /// <summary>
    /// Creates the instances through the task hub's client, then clears the control queues, so they stay Pending rows
    /// that no worker runs. Returns the seconds it took.
    /// </summary>
    private static async Task<double> SeedAsync(string connectionString, string hub, int count, int concurrency)
    {
        var service = new TaskHubOrchestrationService(
            new AzureStorageOptions { ConnectionString = connectionString, TaskHubName = hub, PartitionCount = 4 },
            new TaskHubOrchestrationServiceOptions());
        await service.CreateIfNotExistsAsync();
        var wall = Stopwatch.StartNew();
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < count)
            {
                var instance = new OrchestrationInstance { InstanceId = "seed-" + i.ToString("D6", CultureInfo.InvariantCulture), ExecutionId = Guid.NewGuid().ToString("N") };
                await service.CreateTaskOrchestrationAsync(new TaskMessage
                {
                    OrchestrationInstance = instance,
                    Event = new ExecutionStartedEvent(-1, "{\"n\":" + i.ToString(CultureInfo.InvariantCulture) + "}") { Name = SeedNames[i % SeedNames.Length], OrchestrationInstance = instance },
                });
            }
        }));
        await Task.WhenAll(service.Provider.Clients.ControlQueues.Select(static queue => queue.ClearMessagesAsync()));
        return wall.Elapsed.TotalSeconds;
    }

    /// <summary>Polls the fan-out by its id (a query by name would scan the whole hub at every poll).</summary>
    private static async Task WaitForFanOutAsync(HttpClient http, string instanceId)
    {
        while (true)
        {
            using var response = await http.GetAsync(new Uri(Api + "instances/" + instanceId + "?showInput=false", UriKind.Relative));
            var status = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("runtimeStatus").GetString();
            if (status is "Failed" or "Terminated")
            {
                throw new InvalidOperationException($"The fan-out ended {status}.");
            }

            if (status == "Completed")
            {
                return;
            }

            await Task.Delay(500);
        }
    }

    /// <summary>How long a scan of the whole hub may take before it counts as too slow.</summary>
    private static readonly TimeSpan ScanTimeout = TimeSpan.FromSeconds(60);

    /// <summary>The measure, or null when it ran past its timeout.</summary>
    private static async Task<double?> OnceWithinAsync(Func<Task<double>> measure)
    {
        try
        {
            return Math.Round(await measure(), 1);
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }

    private static async Task<double> GetAsync(HttpClient http, string path, TimeSpan? timeout = null)
    {
        using var limit = new CancellationTokenSource(timeout ?? Timeout.InfiniteTimeSpan);
        var wall = Stopwatch.StartNew();
        using var response = await http.GetAsync(new Uri(Api + path, UriKind.Relative), limit.Token);
        response.EnsureSuccessStatusCode();
        _ = await response.Content.ReadAsByteArrayAsync();
        return wall.Elapsed.TotalMilliseconds;
    }

    private static async Task<double> MedianAsync(int repeat, Func<Task<double>> measure)
    {
        var values = new List<double>();
        for (var i = 0; i < repeat; i++)
        {
            values.Add(await measure());
        }

        return Math.Round(Median(values), 1);
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }
}
