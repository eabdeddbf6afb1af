using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;
using Workflows.DurableTask.Client;
using Workflows.DurableTask.Hosting;
using Workflows.DurableTask.InMemory;
using Workflows.Functions.Search;
using Workflows.ML.Data;
using Workflows.ML.Generation;
using Workflows.ML.Registry;
using Workflows.ML.Search.Halving;
using Workflows.ML.Search.Learners;
using Workflows.ML.Search.Space;

namespace Workflows.Bench;

/// <summary>
/// The <c>halving</c> scenario: one gradient-boosting search space on a make_classification dataset, searched by
/// RandomSearch (every candidate at all rows), HalvingSearch with factor 2, 3 and 4 (resource n_samples) and ASHA, one
/// after the other through the in-memory backend with the official SDK's worker, each with its winner's refit, for
/// each learner asked for (FastTree's <c>gradient_boosting</c>, <c>lightgbm</c>). Reports the wall time and best CV
/// score of each and the ratios random / halving within each learner.
/// </summary>
internal static class HalvingScenario
{
    /// <summary>scikit-learn's HalvingRandomSearchCV(factor=2) on the reference machine: seconds and best score.</summary>
    public const double SklearnHalvingSeconds = 297.7;

    /// <summary>The best score scikit-learn's halving search reached there.</summary>
    public const double SklearnHalvingScore = 0.9342;

    /// <summary>The best score scikit-learn's RandomizedSearchCV reached there.</summary>
    public const double SklearnRandomScore = 0.9384;

    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web);

    public static async Task<int> RunAsync(BenchArgs args)
    {
        args.AllowOnly("rows", "features", "candidates", "folds", "seed", "workers", "resource", "learners", "searches", "min-resources");
        var rows = args.GetInt("rows", 10_000, 100);
        var features = args.GetInt("features", 20, 4);
        var candidates = args.GetInt("candidates", 20, 1);
        var folds = args.GetInt("folds", 3, 2);
        var seed = args.GetInt("seed", 0, 0);
        var workers = args.GetInt("workers", Environment.ProcessorCount, 1);

        // n_samples: the seed's workload, n_estimators in the space. n_estimators: boosting iterations are the
        // resource (at most 300, the space's top), so the space drops them and random search fits every candidate
        // with 300 trees.
        var resource = args.GetString("resource", "n_samples");
        if (resource is not ("n_samples" or "n_estimators"))
        {
            throw new UsageException($"halving: --resource must be n_samples or n_estimators, not '{resource}'.");
        }

        var byTrees = resource == "n_estimators";
        var learners = args.GetString("learners", LearnerCatalog.GradientBoosting).Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (learners.Length == 0 || learners.Any(l => l is not (LearnerCatalog.GradientBoosting or LearnerCatalog.LightGbm)) || learners.Distinct().Count() != learners.Length)
        {
            throw new UsageException($"halving: --learners takes {LearnerCatalog.GradientBoosting} and/or {LearnerCatalog.LightGbm}, each once, not '{args.GetString("learners")}'.");
        }

        string[] allSearches = ["random", "halving-f2", "halving-f3", "halving-f4", "asha-f3"];
        var searches = args.GetString("searches", string.Join(',', allSearches)).Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (!searches.Contains("random") || searches.Any(n => !allSearches.Contains(n)) || searches.Distinct().Count() != searches.Length)
        {
            throw new UsageException($"halving: --searches takes random (always: the ratios are over it) and any of {string.Join(", ", allSearches[1..])}, each once, not '{args.GetString("searches")}'.");
        }

        // The halving searches' first-round resource: exhaust (the last round reaches the most resource) or a number.
        var minResources = args.GetString("min-resources", HalvingOptions.Exhaust);
        if (minResources != HalvingOptions.Exhaust && !(int.TryParse(minResources, NumberStyles.None, CultureInfo.InvariantCulture, out var minAmount) && minAmount >= 1))
        {
            throw new UsageException($"halving: --min-resources must be {HalvingOptions.Exhaust} or a positive integer, not '{minResources}'.");
        }

        var folder = Path.Combine(BenchStorage.Root.FullPath, "workflows-bench-halving-" + Guid.NewGuid().ToString("N"));
        var data = Path.Combine(folder, "data");
        try
        {
            // make_classification(n_samples, n_features) with scikit-learn's defaults: 2 informative, 2 redundant.
            var generator = new ClassificationGenerator(new ClassificationSpec(features, Informative: 2, Redundant: 2, Seed: seed));
            _ = await TrainData.WriteAsync(generator, data, 0, rows, rows);
            const int MaxTrees = 300;
            var space = new ParameterSpace(
            [
                .. byTrees ? Array.Empty<ParameterDefinition>() : [new ParameterDefinition("n_estimators", ParameterKind.IntRange, 50, MaxTrees)],
                new ParameterDefinition("max_depth", ParameterKind.IntRange, 3, 15),
                new ParameterDefinition("learning_rate", ParameterKind.Uniform, 0.01, 0.31),
                new ParameterDefinition("subsample", ParameterKind.Uniform, 0.6, 1.0),
            ]);
            var ashaMin = (byTrees ? MaxTrees : rows) / 9;
            var runs = new List<(string Learner, string Name, string Orchestrator, SearchInput Input)>();
            foreach (var learner in learners)
            {
                // The same data, space, candidates, folds and seed for every search of a learner: only the schedule differs.
                var baseInput = new SearchInput(
                    data, TrainData.LabelColumn, learner, space, Seed: seed,
                    NCandidates: candidates.ToString(CultureInfo.InvariantCulture), MinResources: minResources, Folds: folds);
                if (byTrees)
                {
                    baseInput = baseInput with { Resource = resource, MaxResources = MaxTrees };
                }

                var all = new (string Name, string Orchestrator, SearchInput Input)[]
                {
                    ("random", RandomSearchOrchestrator.Name, baseInput with { MinResources = HalvingOptions.Exhaust }),
                    ("halving-f2", HalvingSearchOrchestrator.Name, baseInput with { Factor = 2 }),
                    ("halving-f3", HalvingSearchOrchestrator.Name, baseInput with { Factor = 3 }),
                    ("halving-f4", HalvingSearchOrchestrator.Name, baseInput with { Factor = 4 }),
                    ("asha-f3", HalvingSearchOrchestrator.Name, baseInput with
                    {
                        Mode = SearchInput.AshaMode, Factor = 3, MinResources = ashaMin.ToString(CultureInfo.InvariantCulture), Parallelism = workers,
                    }),
                };
                runs.AddRange(all.Where(r => searches.Contains(r.Name)).Select(r => (learner, r.Name, r.Orchestrator, r.Input with { ModelName = $"bench-{learner}-{r.Name}" })));
            }

            var registry = new LocalFolderModelRegistry(Path.Combine(folder, "registry"));
            using var service = new InMemoryOrchestrationService(new InMemoryOrchestrationServiceOptions { MaxConcurrentActivityWorkItems = workers });
            await using var engine = await AppEngine.StartAsync(service, modelRegistry: registry);
            var client = engine.Client;

            Console.WriteLine(
                $"{rows} x {features} make_classification, {candidates} candidates, {folds}-fold CV, learners {string.Join(", ", learners)}, halving minResources {minResources}, {workers} concurrent evaluations, {Environment.ProcessorCount} cores");
            var results = new Dictionary<string, RunResult>(StringComparer.Ordinal);
            foreach (var (learner, search, orchestrator, input) in runs)
            {
                var name = $"{learner}/{search}";
                var clock = Stopwatch.StartNew();
                var id = await client.ScheduleNewOrchestrationInstanceAsync(orchestrator, input);
                using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(30));
                var metadata = await client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, timeout.Token);
                clock.Stop();
                if (metadata.RuntimeStatus != OrchestrationRuntimeStatus.Completed)
                {
                    throw new BenchFailedException($"{name} ended {metadata.RuntimeStatus}: {metadata.FailureDetails?.ErrorMessage}");
                }

                var output = metadata.ReadOutputAs<SearchOutput>()!;
                var result = new RunResult(
                    clock.Elapsed.TotalSeconds, output.BestScore ?? double.NaN, output.Evaluations, output.NCandidates, output.NResources, output.BestCandidate, output.BestParams);
                results[name] = result;
                Console.WriteLine(
                    $"{name,-28} {result.Seconds,8:F1} s  best {result.BestScore:F4} (candidate {result.BestCandidate})  evaluations {result.Evaluations,3}  n_candidates [{string.Join(", ", result.NCandidates)}]  n_resources [{string.Join(", ", result.NResources)}]");
            }

            var report = new Dictionary<string, object>(StringComparer.Ordinal)
            {
                ["scenario"] = "halving",
                ["resource"] = resource,
                ["rows"] = rows,
                ["features"] = features,
                ["candidates"] = candidates,
                ["learners"] = learners,
                ["minResources"] = minResources,
                ["folds"] = folds,
                ["workers"] = workers,
                ["cores"] = Environment.ProcessorCount,
                ["runs"] = results,
                ["sklearnHalvingSeconds"] = SklearnHalvingSeconds,
                ["sklearnHalvingScore"] = SklearnHalvingScore,
                ["sklearnRandomScore"] = SklearnRandomScore,
            };
            foreach (var name in results.Keys.Where(n => !n.EndsWith("/random", StringComparison.Ordinal)))
            {
                var run = results[name];
                var random = results[name[..name.IndexOf('/', StringComparison.Ordinal)] + "/random"];
                var speedup = random.Seconds / run.Seconds;
                var scoreGap = (random.BestScore - run.BestScore) * 100;
                var sklearnSpeedup = SklearnHalvingSeconds / run.Seconds;
                report[$"{name}.randomOverHalving"] = Math.Round(speedup, 2);
                report[$"{name}.scoreGapPoints"] = Math.Round(scoreGap, 2);
                // scikit-learn's figures are for n_samples: no like-for-like comparison for another resource.
                var sklearn = byTrees
                    ? "sklearn halving: no like-for-like figure for n_estimators"
                    : $"sklearn halving/ours {sklearnSpeedup,5:F1}x (target >= 10: {Met(sklearnSpeedup >= 10)})";
                if (!byTrees)
                {
                    report[$"{name}.sklearnOverOurs"] = Math.Round(sklearnSpeedup, 2);
                }

                Console.WriteLine(
                    $"{name,-28} random/ours {speedup,5:F2}x (target >= 3: {Met(speedup >= 3)}), score gap {scoreGap,5:F2} points (target <= 1: {Met(scoreGap <= 1)}), "
                    + $"{sklearn}, best >= {SklearnHalvingScore}: {Met(run.BestScore >= SklearnHalvingScore)}");
            }

            Console.WriteLine(JsonSerializer.Serialize(report, JsonOptions));
            return 0;
        }
        finally
        {
            if (Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }
        }
    }

    private static string Met(bool met) => met ? "met" : "not met";

    private sealed record RunResult(
        double Seconds,
        double BestScore,
        int Evaluations,
        IReadOnlyList<int> NCandidates,
        IReadOnlyList<int> NResources,
        int BestCandidate,
        IReadOnlyDictionary<string, ParameterValue> BestParams);
}
