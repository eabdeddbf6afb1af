using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.ML;
using Microsoft.ML.Data;
using Workflows.ML.Onnx;
using Workflows.ML.Registry;
using Workflows.ML.Training;
using Workflows.Serving.Hosting;
using Workflows.Serving.Models;

namespace Workflows.Bench;

/// <summary>
/// The <c>serve</c> scenario: the prediction service on Kestrel on a free loopback port over a local registry holding
/// a 100-feature linear ONNX model and a 50-tree ML.NET FastForest (.zip). A loopback load generator in the same
/// process (<see cref="LoopbackLoadGenerator"/>: raw HTTP/1.1 keep-alive, <c>--concurrency</c> connections) warms both
/// models up, then sends single-row v2 requests for <c>--seconds</c> per model and reports requests/s with p50/p99; then each model scores batches of <c>--batch-rows</c> rows in process (rows/s).
/// Every answer is checked (status 200). The last line is one JSON object.
/// </summary>
internal static class ServeScenario
{
    private const int Features = 100;
    private const int DistinctRequests = 1_000;
    private const double SingleRowTarget = 20_000;
    private const double P99TargetMs = 10;
    private const double BatchedTarget = 2_000_000;
    private const int DefaultWarmUpSeconds = 10;

    public static async Task<int> RunAsync(BenchArgs args)
    {
        args.AllowOnly("concurrency", "seconds", "batch-rows", "trees", "warm-up", "sample-rows");
        var concurrency = args.GetInt("concurrency", 64, 1);
        var seconds = args.GetInt("seconds", 10, 1);
        var batchRows = args.GetInt("batch-rows", 4096, 1);
        var trees = args.GetInt("trees", 50, 1);
        var warmUp = args.GetInt("warm-up", DefaultWarmUpSeconds, 0);
        var sampleRows = args.GetInt("sample-rows", 10_000, 0);
        Console.WriteLine($"serve benchmark: concurrency={concurrency} seconds={seconds} warm-up={warmUp} batch-rows={batchRows} trees={trees} sample-rows={sampleRows} processors={Environment.ProcessorCount}");
        var root = Directory.CreateTempSubdirectory("workflows-serve-").FullName;
        try
        {
            var registry = new LocalFolderModelRegistry(Path.Combine(root, "models"));
            await RegisterAsync(registry, "linear", "onnx", LinearOnnx());
            await RegisterAsync(registry, "forest", "mlnet", Forest(trees));
            var builder = ServingApplication.CreateBuilder(
            [
                "--urls=http://127.0.0.1:0",
                "--WorkflowsDataRoot=" + root,
                "--Serving:RegistryPollSeconds=0",
                "--Serving:CacheEntries=0",
                "--Serving:BatchQueueCapacity=100000",
                "--Serving:SampleRows=" + sampleRows.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ]);
            builder.Logging.SetMinimumLevel(LogLevel.Warning);
            await using var app = ServingApplication.Build(builder);
            await app.StartAsync();
            var catalog = app.Services.GetRequiredService<ModelCatalog>();
            await catalog.RefreshAsync(CancellationToken.None);
            var server = new Uri(app.Urls.First());
            var models = new[] { "linear", "forest" };
            var bodies = models.ToDictionary(model => model, model => Bodies(model.Length)); // a different set per model

            // Warm-up of both models before either is measured, so neither pays for the JIT of the shared request path.
            foreach (var model in models)
            {
                await LoopbackLoadGenerator.RunAsync(server, $"v2/models/{model}/infer", bodies[model], concurrency, TimeSpan.FromSeconds(warmUp));
            }

            var results = new JsonObject();
            foreach (var model in models)
            {
                var (requests, wall, latencies) = await LoopbackLoadGenerator.RunAsync(server, $"v2/models/{model}/infer", bodies[model], concurrency, TimeSpan.FromSeconds(seconds));
                Array.Sort(latencies);
                var perSecond = requests / wall;
                var p50 = latencies[latencies.Length / 2];
                var p99 = latencies[(int)(latencies.Length * 0.99)];
                var batched = Batched(catalog.Find(model)!.Loaded(1)!, batchRows, seconds);
                Console.WriteLine($"{model,-7} single-row: {perSecond,10:N0} requests/s  p50 {p50:F2} ms  p99 {p99:F2} ms   batched in process: {batched,12:N0} rows/s");
                results[model] = new JsonObject
                {
                    ["singleRowRequestsPerSecond"] = Math.Round(perSecond),
                    ["singleRowP50Ms"] = Math.Round(p50, 3),
                    ["singleRowP99Ms"] = Math.Round(p99, 3),
                    ["requests"] = requests,
                    ["batchedRowsPerSecond"] = Math.Round(batched),
                };
            }

            await app.StopAsync();
            var linear = results["linear"]!;
            var singleMet = (double)linear["singleRowRequestsPerSecond"]! >= SingleRowTarget && (double)linear["singleRowP99Ms"]! < P99TargetMs;
            var batchedMet = (double)linear["batchedRowsPerSecond"]! >= BatchedTarget;
            Console.WriteLine($"targets (linear): single-row >= {SingleRowTarget:N0}/s with p99 < {P99TargetMs} ms: {(singleMet ? "met" : "NOT met")}; batched >= {BatchedTarget:N0} rows/s: {(batchedMet ? "met" : "NOT met")}");
            var json = new JsonObject
            {
                ["scenario"] = "serve",
                ["features"] = Features,
                ["trees"] = trees,
                ["concurrency"] = concurrency,
                ["seconds"] = seconds,
                ["warmUpSeconds"] = warmUp,
                ["batchRows"] = batchRows,
                ["processorCount"] = Environment.ProcessorCount,
                ["linear"] = results["linear"]!.DeepClone(),
                ["forest"] = results["forest"]!.DeepClone(),
                ["targets"] = new JsonObject
                {
                    ["singleRowRequestsPerSecond"] = SingleRowTarget,
                    ["singleRowP99Ms"] = P99TargetMs,
                    ["batchedRowsPerSecond"] = BatchedTarget,
                    ["singleRowMet"] = singleMet,
                    ["batchedMet"] = batchedMet,
                },
                ["loadAverage1m"] = StatsScenario.LoadAverage(),
            };
            Console.WriteLine(json.ToJsonString());
            return 0;
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    /// <summary>In-process scoring of <paramref name="rows"/>-row batches straight on the loaded model for about <paramref name="seconds"/> s; rows/s.</summary>
    private static double Batched(LoadedVersion version, int rows, int seconds)
    {
        var schema = version.Schema;
        var features = new float[rows * schema.FeatureCount];
        for (var i = 0; i < features.Length; i++)
        {
            features[i] = (i % 17) * 0.1f - 0.8f;
        }

        var values = new float[rows * schema.ValueWidth];
        var labels = new long[rows];
        version.Model.Score(features, rows, values, labels); // warm-up
        long scored = 0;
        var wall = Stopwatch.StartNew();
        while (wall.Elapsed.TotalSeconds < seconds)
        {
            version.Model.Score(features, rows, values, labels);
            scored += rows;
        }

        return scored / wall.Elapsed.TotalSeconds;
    }

    /// <summary><see cref="DistinctRequests"/> single-row v2 request bodies of <see cref="Features"/> values in [-2, 2).</summary>
    internal static byte[][] Bodies(int seed)
    {
        var random = new Random(seed);
        var bodies = new byte[DistinctRequests][];
        var text = new StringBuilder();
        for (var b = 0; b < bodies.Length; b++)
        {
            text.Clear().Append("{\"inputs\":[{\"name\":\"features\",\"shape\":[1,").Append(Features).Append("],\"datatype\":\"FP32\",\"data\":[");
            for (var f = 0; f < Features; f++)
            {
                text.Append(f == 0 ? string.Empty : ",").Append(((float)(random.NextDouble() * 4 - 2)).ToString("R", CultureInfo.InvariantCulture));
            }

            bodies[b] = Encoding.UTF8.GetBytes(text.Append("]}]}").ToString());
        }

        return bodies;
    }

    /// <summary>A <see cref="Features"/>-feature logistic regression as ONNX, its weights drawn from seed 1, its bias 0.1 plus <paramref name="biasShift"/>.</summary>
    internal static byte[] LinearOnnx(float biasShift = 0)
    {
        var random = new Random(1);
        var weights = Enumerable.Range(0, Features).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray();
        var state = TrainerState.FromParts(Features, 2, weights, [0.1f + biasShift], 0, 0, [0, 0]);
        var standardization = new FeatureStandardization(new float[Features], Enumerable.Repeat(1f, Features).ToArray());
        return OnnxModelExporter.Export(LogisticRegressionModel.FromState(state, standardization));
    }

    private static byte[] Forest(int trees)
    {
        var context = new MLContext(seed: 1);
        var random = new Random(2);
        var rows = Enumerable.Range(0, 2_000).Select(_ =>
        {
            var x = Enumerable.Range(0, Features).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
            return new ForestRow { Features = x, Label = x[0] + x[1] - x[2] > 0 };
        }).ToList();
        var data = context.Data.LoadFromEnumerable(rows);
        var model = context.BinaryClassification.Trainers.FastForest(numberOfTrees: trees, numberOfLeaves: 20).Fit(data);
        using var stream = new MemoryStream();
        context.Model.Save(model, data.Schema, stream);
        return stream.ToArray();
    }

    internal static Task<RegisteredModel> RegisterAsync(LocalFolderModelRegistry registry, string name, string format, byte[] artifact) =>
        registry.RegisterAsync(new ModelRegistration(name, format, new Dictionary<string, double>(), new ModelLineage("bench", "none", new Dictionary<string, string>(), null)), artifact);

    private sealed class ForestRow
    {
        [VectorType(ServeScenario.Features)]
        public float[] Features { get; set; } = [];

        public bool Label { get; set; }
    }
}
