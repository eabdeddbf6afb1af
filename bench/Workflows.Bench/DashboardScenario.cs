using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using DurableTask.Core;
using DurableTask.Core.History;
using Microsoft.Extensions.Logging;
using Workflows.Durable.AzureStorage;
using Workflows.Durable.AzureStorage.Core;
using Workflows.Functions.Samples;
using Workflows.Host.Azurite;
using Workflows.Host.Hosting;
using Workflows.Testing;

namespace Workflows.Bench;

/// <summary>
/// The <c>dashboard</c> scenario, on Azurite with our task hub: <c>--instances</c> instances are created through the
/// task hub's client (four orchestration names, their queue messages then cleared, so they stay Pending rows that no
/// worker runs), the host starts on that hub with the function app and runs FanOutFanIn over <c>--fan-out</c>
/// activities. Then, each the median of <c>--repeat</c> runs: the management API's first page of the list unfiltered,
/// by a name that many match, by a name only the fan-out has and by a status few have (both scans), a count per status
/// of the whole hub (cold: a filter not asked before), the fan-out's history; and in Debian's Chromium: the page's
/// first contentful paint and its first rows from navigation, and opening the fan-out until its timeline is drawn.
/// The last line is one JSON object.
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
        var hub = "d" + Guid.NewGuid().ToString("N")[..20];
        var seedSeconds = await SeedAsync(azurite.ConnectionString, hub, instances, concurrency);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"seeded {instances} instances in {seedSeconds:F1} s ({instances / seedSeconds:F0}/s)"));

        var root = Directory.CreateTempSubdirectory("workflows-dashboard-bench-").FullName;
        try
        {
            await File.WriteAllTextAsync(
                Path.Combine(root, "host.json"),
                $$"""{ "extensions": { "durableTask": { "hubName": "{{hub}}", "storageProvider": { "partitionCount": 4 } } } }""");
            var builder = new FunctionsHostBuilder(
                [
                    "--urls=http://127.0.0.1:0",
                    "--AzureWebJobsScriptRoot=" + root,
                    "--WorkflowsAppPath=" + TestApps.Functions,
                    "--AZURE_FUNCTIONS_ENVIRONMENT=Development",
                    "--WorkflowsExportLocalSettings=false",
                    "--WorkflowsGrpcPort=0",
                    "--AzureWebJobsStorage=" + azurite.ConnectionString,
                    .. TestApps.SampleSettings.Select(static s => $"--{s.Key}={s.Value}"),
                ]);
            builder.Logging.SetMinimumLevel(LogLevel.Warning);
            await using var app = builder.Build();
            await app.StartAsync();
            var baseUrl = app.Urls.First().TrimEnd('/') + "/";
            using var http = new HttpClient { BaseAddress = new Uri(baseUrl), Timeout = TimeSpan.FromMinutes(10) };

            var fanOutWall = Stopwatch.StartNew();
            using (var started = await http.PostAsJsonAsync(new Uri(Api + "orchestrators/" + FanOutFanIn.Name, UriKind.Relative), fanOut))
            {
                started.EnsureSuccessStatusCode();
            }

            var fanOutId = await WaitForFanOutAsync(http);
            var fanOutSeconds = fanOutWall.Elapsed.TotalSeconds;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"fan-out of {fanOut} completed in {fanOutSeconds:F1} s"));

            var api = new
            {
                firstPageMs = await MedianAsync(repeat, () => GetAsync(http, "instances?top=100")),
                byCommonNameMs = await MedianAsync(repeat, () => GetAsync(http, "instances?top=100&name=" + SeedNames[1])),
                byRareNameMs = await MedianAsync(repeat, () => GetAsync(http, "instances?top=100&name=" + FanOutFanIn.Name)),
                byRareStatusMs = await MedianAsync(repeat, () => GetAsync(http, "instances?top=100&runtimeStatus=Completed")),
                countAllColdMs = await MedianAsync(repeat, () => GetAsync(http, "counts?createdTimeFrom=2000-01-01T00:00:" + Random.Shared.Next(10, 59) + "." + Random.Shared.Next(100, 999) + "Z")),
                historyMs = await MedianAsync(repeat, () => GetAsync(http, "instances/" + fanOutId + "?showHistory=true")),
            };
            var historyBytes = (await http.GetByteArrayAsync(new Uri(Api + "instances/" + fanOutId + "?showHistory=true", UriKind.Relative))).Length;
            var counts = await http.GetFromJsonAsync<JsonElement>(new Uri(Api + "counts", UriKind.Relative));
            if (counts.GetProperty("total").GetInt64() != instances + 1)
            {
                throw new InvalidOperationException($"The counts say {counts.GetProperty("total")} instances; {instances + 1} were made.");
            }

            await using var browser = await Chromium.StartAsync();
            var firstPaint = new List<double>();
            var firstRows = new List<double>();
            for (var i = 0; i < repeat; i++)
            {
                await browser.NavigateAsync(new Uri(baseUrl));
                firstRows.Add((await browser.EvaluateAsync(
                    "new Promise(done => { const check = () => document.querySelectorAll('#instances tr').length > 0 ? done(performance.now()) : setTimeout(check, 2); check(); })")).GetDouble());
                firstPaint.Add((await browser.EvaluateAsync(
                    "performance.getEntriesByType('paint').filter(p => p.name === 'first-contentful-paint').map(p => p.startTime)[0] || -1")).GetDouble());
            }

            var timeline = new List<double>();
            for (var i = 0; i < repeat; i++)
            {
                timeline.Add((await browser.EvaluateAsync(
                    $"(async () => {{ drawn = null; const t = performance.now(); await showDetail('{fanOutId}'); return performance.now() - t; }})()")).GetDouble());
            }

            var drawnTasks = (await browser.EvaluateAsync("Number(document.querySelector('#timeline rect[data-aggregate]').dataset.tasks)")).GetInt32();
            if (drawnTasks != fanOut)
            {
                throw new InvalidOperationException($"The timeline shows {drawnTasks} tasks; the fan-out ran {fanOut}.");
            }

            await app.StopAsync(CancellationToken.None);
            var report = new
            {
                scenario = "dashboard",
                instances,
                fanOut,
                repeat,
                seedSeconds = Math.Round(seedSeconds, 1),
                fanOutSeconds = Math.Round(fanOutSeconds, 1),
                api,
                historyBytes,
                page = new
                {
                    firstContentfulPaintMs = Math.Round(Median(firstPaint), 1),
                    firstRowsMs = Math.Round(Median(firstRows), 1),
                    timelineMs = Math.Round(Median(timeline), 1),
                },
                firstPaintTargetMet = Median(firstRows) < 1000,
            };
            Console.WriteLine();
            Console.WriteLine("| measure | median ms |");
            Console.WriteLine("|---|---|");
            foreach (var (name, value) in new (string, double)[]
            {
                ("API: first page of 100", api.firstPageMs), ("API: a name many have", api.byCommonNameMs), ("API: the name only the fan-out has", api.byRareNameMs),
                ("API: a status few have", api.byRareStatusMs), ("API: counts of the whole hub (cold)", api.countAllColdMs), ($"API: the fan-out's history ({historyBytes / 1024} KiB)", api.historyMs),
                ("page: first contentful paint", report.page.firstContentfulPaintMs), ("page: first rows", report.page.firstRowsMs), ($"page: the {fanOut}-activity timeline", report.page.timelineMs),
            })
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {name} | {value} |"));
            }

            Console.WriteLine(JsonSerializer.Serialize(report, JsonOptions));
            return 0;
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
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

    private static async Task<string> WaitForFanOutAsync(HttpClient http)
    {
        while (true)
        {
            var page = await http.GetFromJsonAsync<JsonElement>(new Uri(Api + "instances?name=" + FanOutFanIn.Name + "&top=10", UriKind.Relative));
            foreach (var instance in page.EnumerateArray())
            {
                var status = instance.GetProperty("runtimeStatus").GetString();
                if (status is "Failed" or "Terminated")
                {
                    throw new InvalidOperationException($"The fan-out ended {status}.");
                }

                if (status == "Completed")
                {
                    return instance.GetProperty("instanceId").GetString()!;
                }
            }

            await Task.Delay(500);
        }
    }

    private static async Task<double> GetAsync(HttpClient http, string path)
    {
        var wall = Stopwatch.StartNew();
        using var response = await http.GetAsync(new Uri(Api + path, UriKind.Relative));
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
