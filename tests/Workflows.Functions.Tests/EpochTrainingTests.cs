using System.Globalization;
using System.Text;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Workflows.DurableTask;
using Workflows.Functions.Datasets;
using Workflows.Functions.Statistics;
using Workflows.Functions.Training;
using Workflows.ML.Data;
using Workflows.ML.Data.Caching;
using Workflows.ML.Generation;
using Workflows.ML.Kernels;
using Workflows.ML.Monitoring;
using Workflows.ML.Onnx;
using Workflows.ML.Registry;
using Workflows.ML.Statistics;
using Workflows.ML.Training;
using Workflows.Testing;
using Xunit;

namespace Workflows.Functions.Tests;

public sealed class EpochTrainingTests : IDisposable
{
    private const int Features = 6;
    private const int ChunkRows = 500;
    private const long DataSeed = 21;
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "workflows-training-" + Guid.NewGuid().ToString("N"));
    private readonly string _data;
    private readonly LocalFolderModelRegistry _registry;

    public EpochTrainingTests()
    {
        Directory.CreateDirectory(_folder);
        _data = Path.Combine(_folder, "data");
        _registry = new LocalFolderModelRegistry(Path.Combine(_folder, "registry"));
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public async Task EpochTraining_AfterGenerateDataset_RegistersOnnxModelThatPredictsLikeOurScorer()
    {
        await using var harness = await StartAsync();
        var generated = await harness.RunAsync(GenerateDatasetOrchestrator.Name, new GenerateDatasetInput(3_000, Features, Informative: 3, ChunkRows, DataSeed, _data));
        Assert.Equal(OrchestrationRuntimeStatus.Completed, generated.RuntimeStatus);

        var result = await harness.RunAsync(EpochTrainingOrchestrator.Name, Input(epochs: 3) with { HoldoutFraction = 0.34 });

        Assert.Equal(OrchestrationRuntimeStatus.Completed, result.RuntimeStatus);
        var output = result.ReadOutputAs<EpochTrainingOutput>()!;
        Assert.Equal(3, output.LearningCurve.Count);
        Assert.Equal([1, 2, 3], output.LearningCurve.Select(m => m.Epoch));
        Assert.Equal(1_000, output.LearningCurve[0].Holdout.Rows);
        Assert.All(output.LearningCurve, m => Assert.True(m.Holdout.Accuracy > 0.7 && m.Holdout.RocAuc > 0.75, m.ToString()));
        // The statistics that standardize the features cover the training chunks only, never the held-out rows.
        var trainingChunks = HoldoutSplit.Complement(6, output.HoldoutChunks!);
        Assert.Equal(StatisticsReport.ArtifactPath(TestStorage.Local, _data, trainingChunks), output.StatsArtifact);
        Assert.NotEqual(Path.Combine(_data, StatisticsReport.ArtifactFileName), output.StatsArtifact);
        var statistics = StatisticsReport.FromArtifactJson(await File.ReadAllBytesAsync(output.StatsArtifact));
        Assert.Equal(trainingChunks, statistics.ChunkPositions);
        Assert.Equal(2_000, statistics.Rows);
        Assert.Contains("\"learningCurve\":[{", result.SerializedCustomStatus, StringComparison.Ordinal);

        var registered = await _registry.GetAsync("demo", output.Version);
        var best = output.LearningCurve[output.BestEpoch - 1];
        Assert.NotNull(registered);
        Assert.Equal(1, output.Version);
        Assert.Equal("onnx", registered.Format);
        Assert.Equal(best.Holdout.LogLoss, registered.Metrics["logLoss"]);
        Assert.Equal(_data, registered.Lineage.Dataset);
        Assert.Equal(output.StatsArtifact, registered.Lineage.StatsArtifact);
        Assert.Equal("7", registered.Lineage.Parameters["seed"]);
        Assert.Equal("f0,f1,f2,f3,f4,f5", registered.Lineage.Parameters["featureColumns"]);
        Assert.Equal(HoldoutSplit.Choose(7, 6, 0.34), output.HoldoutChunks);
        Assert.Equal(string.Join(',', output.HoldoutChunks!), registered.Lineage.Parameters["holdoutChunks"]);
        Assert.Equal("2 of 6 chunks (holdoutFraction 0.34), chosen by seed 7", registered.Lineage.Parameters["holdout"]);

        // The registered ONNX graph scores the holdout chunk as our own scorer does with the kept checkpoint.
        await AssertOnnxMatchesScorerAsync(output, new ClassificationGenerator(Spec()).GenerateChunk(5, ChunkRows));
        Assert.Equal(await File.ReadAllBytesAsync(output.ArtifactPath), await _registry.ReadArtifactAsync("demo", output.Version));
        await AssertReferenceProfileAsync(output, "demo");
    }

    /// <summary>
    /// The profile stored with the version is the holdout's (the generator's held-out chunks, scored by the kept
    /// model), with decile edges and shares counted exactly.
    /// </summary>
    private async Task AssertReferenceProfileAsync(EpochTrainingOutput output, string name)
    {
        var stored = await _registry.ReadFileAsync(name, output.Version, ReferenceProfile.FileName);
        Assert.NotNull(stored);
        var profile = ReferenceProfile.FromJson(stored);
        var model = await ScorerAsync(output);
        var chunks = output.HoldoutChunks!.Select(i => new ClassificationGenerator(Spec()).GenerateChunk(i, ChunkRows)).ToList();
        var partial = new ReferencePartial([.. Enumerable.Range(0, Features).Select(f => $"f{f}")]);
        var predictions = chunks.Select(chunk =>
        {
            var probabilities = new float[chunk.RowCount];
            model.PredictProbabilities(RowMajor(chunk), chunk.RowCount, probabilities);
            return probabilities;
        }).ToList();
        for (var c = 0; c < chunks.Count; c++)
        {
            partial.AddChunk(chunks[c].Features, predictions[c]);
        }

        var expected = ReferenceProfile.Build(partial, profile.CreatedAt);
        var counts = BinCounts.For(expected);
        for (var c = 0; c < chunks.Count; c++)
        {
            counts.Add(expected, chunks[c].Features, predictions[c]);
        }

        expected = expected.WithCountedProportions(counts);
        Assert.Equal(1_000, profile.Rows);
        Assert.Equal(Features, profile.Features.Count);
        Assert.Equal(["f0", "f1", "f2", "f3", "f4", "f5"], profile.Features.Select(f => f.Name));
        Assert.All(profile.Columns, column =>
        {
            Assert.Equal(1_000, column.Count);
            Assert.Equal(0, column.ProportionError);
            Assert.Equal(9, column.Edges.Length);
            Assert.All(column.Proportions, share => Assert.InRange(share, 0.09, 0.11));
        });
        Assert.All(profile.Prediction.Edges, edge => Assert.InRange(edge, 0, 1));
        foreach (var (actual, wanted) in profile.Columns.Zip(expected.Columns))
        {
            Assert.Equal(wanted.Edges, actual.Edges);
            Assert.Equal(wanted.Proportions, actual.Proportions);
        }
    }

    [Fact]
    public async Task EpochTraining_ThreeClasses_RegistersSoftmaxModelThatPredictsLikeOurScorer()
    {
        await WriteDatasetAsync(chunks: 4, classes: 3);

        var result = await RunAsync(Input(epochs: 2) with { HoldoutFraction = 0.25, ModelName = "three" });

        Assert.Equal(OrchestrationRuntimeStatus.Completed, result.RuntimeStatus);
        var output = result.ReadOutputAs<EpochTrainingOutput>()!;
        Assert.Equal(3, TrainingCheckpoint.FromJson(await File.ReadAllBytesAsync(output.Checkpoint)).State.ClassCount);
        Assert.True(output.LearningCurve[^1].Holdout.Accuracy > 0.5, output.LearningCurve[^1].ToString());
        await AssertOnnxMatchesScorerAsync(output, new ClassificationGenerator(Spec(classes: 3)).GenerateChunk(3, ChunkRows));
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public async Task EpochTraining_RegisteredModelInMlNetApplyOnnxModel_PredictsLikeOurScorer(int classes)
    {
        await WriteDatasetAsync(chunks: 4, classes: classes);

        var result = await RunAsync(Input(epochs: 2) with { HoldoutFraction = 0.25, ModelName = "mlnet" });

        Assert.Equal(OrchestrationRuntimeStatus.Completed, result.RuntimeStatus);
        var output = result.ReadOutputAs<EpochTrainingOutput>()!;
        Assert.Equal("onnx", (await _registry.GetAsync("mlnet", output.Version))!.Format);

        // The registry's copy (SHA-256 checked on read), not the run folder's, goes to ML.NET.
        var path = Path.Combine(_folder, "registered.onnx");
        await File.WriteAllBytesAsync(path, await _registry.ReadArtifactAsync("mlnet", output.Version));
        var model = await ScorerAsync(output);
        var rows = RowMajor(new ClassificationGenerator(Spec(classes)).GenerateChunk(7, ChunkRows));
        var expected = new float[ChunkRows * model.OutputCount];
        model.PredictProbabilities(rows, ChunkRows, expected);
        var expectedLabels = new long[ChunkRows];
        for (var row = 0; row < ChunkRows; row++)
        {
            expectedLabels[row] = LogisticRegressionModel.PredictedLabel(expected.AsSpan(row * model.OutputCount, model.OutputCount));
        }

        // A model that predicted one class everywhere would let a wrong label output pass.
        Assert.Equal(classes, expectedLabels.Distinct().Count());

        var context = new MLContext(seed: 1);
        var data = context.Data.LoadFromEnumerable(Enumerable.Range(0, ChunkRows).Select(row => new FeatureRow { Features = rows.AsSpan(row * Features, Features).ToArray() }));
        using var transformer = context.Transforms.ApplyOnnxModel([OnnxModelExporter.ProbabilitiesOutput, OnnxModelExporter.LabelOutput], [OnnxModelExporter.FeaturesInput], path).Fit(data);
        var predictions = context.Data.CreateEnumerable<Prediction>(transformer.Transform(data), reuseRowObject: false).ToArray();

        Assert.Equal(ChunkRows, predictions.Length);
        var actual = predictions.SelectMany(p => p.Probabilities).ToArray();
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.Equal(expected[i], actual[i], 1e-5f);
        }

        Assert.Equal(expectedLabels, predictions.Select(p => Assert.Single(p.Label)));
    }

    [Fact]
    public async Task EpochTraining_HoldoutLossStopsImproving_StopsEarlyAndRegistersTheBestEpoch()
    {
        await WriteDatasetAsync(chunks: 4);

        // A constant, far too large step makes the holdout loss jump around instead of settling.
        var result = await RunAsync(Input(epochs: 10) with { Schedule = LearningRateSchedule.Constant, LearningRate = 20f, L2 = 0, Patience = 1, HoldoutFraction = 0.25 });

        Assert.Equal(OrchestrationRuntimeStatus.Completed, result.RuntimeStatus);
        var output = result.ReadOutputAs<EpochTrainingOutput>()!;
        var curve = output.LearningCurve;
        Assert.True(output.StoppedEarly);
        Assert.InRange(curve.Count, 2, 9);
        Assert.Equal(curve.Count - 1, output.BestEpoch);
        Assert.True(curve[^1].Holdout.LogLoss >= curve[^2].Holdout.LogLoss);
        Assert.Equal(curve.Min(m => m.Holdout.LogLoss), curve[output.BestEpoch - 1].Holdout.LogLoss);
        var registered = await _registry.GetAsync("demo", output.Version);
        Assert.Equal(output.BestEpoch, registered!.Metrics["epoch"]);
        Assert.EndsWith($"epoch-{output.BestEpoch}.json", output.Checkpoint, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public async Task EpochTraining_SameSeedAndK_GivesBitIdenticalWeights(int parallelism)
    {
        await WriteDatasetAsync(chunks: 6);
        await using var harness = await StartAsync();
        var input = Input(epochs: 2) with { Parallelism = parallelism };

        var first = await harness.RunAsync(EpochTrainingOrchestrator.Name, input);
        var second = await harness.RunAsync(EpochTrainingOrchestrator.Name, input);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, first.RuntimeStatus);
        Assert.Equal(OrchestrationRuntimeStatus.Completed, second.RuntimeStatus);
        var a = await FinalCheckpointAsync(first.ReadOutputAs<EpochTrainingOutput>()!, 2);
        var b = await FinalCheckpointAsync(second.ReadOutputAs<EpochTrainingOutput>()!, 2);
        Assert.Equal(a.State.Weights.ToArray(), b.State.Weights.ToArray());
        Assert.Equal(a.State.Bias.ToArray(), b.State.Bias.ToArray());
        Assert.Equal(a.LearningCurve, b.LearningCurve);
        Assert.Equal(2, second.ReadOutputAs<EpochTrainingOutput>()!.Version);
    }

    [Fact]
    public async Task EpochTraining_TwoWorkers_EqualsInProcessDataParallelEpochs()
    {
        // A holdout dataset of its own, so that the training chunks are 0..4 as DataParallelEpoch.Run takes them.
        await WriteDatasetAsync(chunks: 5);
        var holdout = Path.Combine(_folder, "holdout");
        await TestData.WriteParquetChunkAsync(new ClassificationGenerator(Spec()), 5, ChunkRows, Path.Combine(holdout, GenerateDatasetChunkActivity.FileName(0)));
        await using var harness = await StartAsync();

        var result = await harness.RunAsync(EpochTrainingOrchestrator.Name, Input(epochs: 2) with { Parallelism = 2, Holdout = holdout });

        Assert.Equal(OrchestrationRuntimeStatus.Completed, result.RuntimeStatus);
        var output = result.ReadOutputAs<EpochTrainingOutput>()!;
        Assert.True(output.LearningCurve[^1].Holdout.Accuracy > 0.7, output.LearningCurve[^1].ToString());
        var durable = await FinalCheckpointAsync(output, 2);
        var generator = new ClassificationGenerator(Spec());
        Assert.Null(output.HoldoutChunks);
        var chunks = Enumerable.Range(0, 5).Select(c =>
        {
            var generated = generator.GenerateChunk(c, ChunkRows);
            return new TrainingChunk(c, RowMajor(generated), generated.Labels, ChunkRows);
        }).ToList();
        var options = durable.Options!;
        var state = TrainerState.CreateInitial(options);
        for (var epoch = 0; epoch < 2; epoch++)
        {
            state = DataParallelEpoch.Run(options, await StandardizationAsync(output.StatsArtifact), state, epoch, chunks, workers: 2);
        }

        Assert.Equal(state.Weights.ToArray(), durable.State.Weights.ToArray());
        Assert.Equal(state.Steps, durable.State.Steps);
    }

    [Fact]
    public async Task EpochTraining_MoreWorkersThanChunks_EqualsOneWorkerPerChunk()
    {
        await WriteDatasetAsync(chunks: 4);
        await using var harness = await StartAsync();
        var input = Input(epochs: 2) with { HoldoutFraction = 0.25 };

        var perChunk = await harness.RunAsync(EpochTrainingOrchestrator.Name, input with { Parallelism = 3 });
        var surplus = await harness.RunAsync(EpochTrainingOrchestrator.Name, input with { Parallelism = 7 });

        Assert.Equal(OrchestrationRuntimeStatus.Completed, perChunk.RuntimeStatus);
        Assert.Equal(OrchestrationRuntimeStatus.Completed, surplus.RuntimeStatus);
        var a = await FinalCheckpointAsync(perChunk.ReadOutputAs<EpochTrainingOutput>()!, 2);
        var b = await FinalCheckpointAsync(surplus.ReadOutputAs<EpochTrainingOutput>()!, 2);
        Assert.Equal(a.State.Weights.ToArray(), b.State.Weights.ToArray());
        Assert.Equal(a.State.RowsSeen, b.State.RowsSeen);

        // Workers 3 to 6 would have had no chunk: they got no activity and wrote nothing.
        var run = Path.GetDirectoryName(surplus.ReadOutputAs<EpochTrainingOutput>()!.Checkpoint)!;
        Assert.True(File.Exists(Path.Combine(run, "epoch-1.worker-2.json")));
        Assert.False(File.Exists(Path.Combine(run, "epoch-1.worker-3.json")));
    }

    [Fact]
    public async Task EpochTraining_WithChunkCache_DecodesEachChunkOnceAndTrainsTheSameModel()
    {
        var files = await WriteDatasetAsync(chunks: 4);
        var stats = await RunStatisticsAsync();
        var input = Input(epochs: 3) with { StatsArtifact = stats, HoldoutFraction = 0.25 };
        var cachedStorage = new CountingDatasetStorage();
        var cache = new DecodedChunkCache(1 << 20);
        OrchestrationMetadata cached;
        await using (var harness = await SdkHarness.StartAsync(r => r.AddWorkflowFunctions(cachedStorage, SimdStatisticsKernel.Instance, _registry, cache, dataRoot: TestStorage.Root)))
        {
            cached = await harness.RunAsync(EpochTrainingOrchestrator.Name, input);
        }

        OrchestrationMetadata uncached;
        await using (var harness = await SdkHarness.StartAsync(r => r.AddWorkflowFunctions(kernel: SimdStatisticsKernel.Instance, modelRegistry: _registry, chunkCache: new DecodedChunkCache(0), dataRoot: TestStorage.Root)))
        {
            uncached = await harness.RunAsync(EpochTrainingOrchestrator.Name, input);
        }

        Assert.Equal(OrchestrationRuntimeStatus.Completed, cached.RuntimeStatus);
        Assert.Equal(OrchestrationRuntimeStatus.Completed, uncached.RuntimeStatus);
        var a = await FinalCheckpointAsync(cached.ReadOutputAs<EpochTrainingOutput>()!, 3);
        var b = await FinalCheckpointAsync(uncached.ReadOutputAs<EpochTrainingOutput>()!, 3);
        Assert.Equal(b.State.Weights.ToArray(), a.State.Weights.ToArray());
        Assert.Equal(b.LearningCurve, a.LearningCurve);

        // Opened once to describe the dataset and once to decode; epochs 2 and 3 (and their evaluations) hit the cache,
        // and so do the registration's two passes over the holdout chunk for the reference profile.
        Assert.All(files, file => Assert.Equal(2, cachedStorage.Opened(file)));
        Assert.Equal(4, cache.Count);
        Assert.Equal(10, cache.Hits);
    }

    [Fact]
    public async Task EpochTraining_HoldoutFraction_HoldsOutTheSeededChunksAndTrainsOnExactlyTheOthers()
    {
        await WriteDatasetAsync(chunks: 10);
        await using var harness = await StartAsync();
        var input = Input(epochs: 1) with { HoldoutFraction = 0.3 };

        var first = await harness.RunAsync(EpochTrainingOrchestrator.Name, input);
        var again = await harness.RunAsync(EpochTrainingOrchestrator.Name, input);
        var otherSeed = await harness.RunAsync(EpochTrainingOrchestrator.Name, input with { Seed = 8 });

        var output = first.ReadOutputAs<EpochTrainingOutput>()!;
        var other = otherSeed.ReadOutputAs<EpochTrainingOutput>()!;
        Assert.Equal(OrchestrationRuntimeStatus.Completed, first.RuntimeStatus);
        Assert.Equal(OrchestrationRuntimeStatus.Completed, otherSeed.RuntimeStatus);
        Assert.Equal(HoldoutSplit.Choose(7, 10, 0.3), output.HoldoutChunks);
        Assert.Equal(output.HoldoutChunks, again.ReadOutputAs<EpochTrainingOutput>()!.HoldoutChunks);
        Assert.Equal(HoldoutSplit.Choose(8, 10, 0.3), other.HoldoutChunks);
        Assert.NotEqual(output.HoldoutChunks, other.HoldoutChunks);

        // 3 chunks held out, the other 7 trained on: the rows on each side add up to the chunks' rows.
        Assert.Equal(3 * ChunkRows, output.LearningCurve[0].Holdout.Rows);
        Assert.Equal(7 * ChunkRows, output.LearningCurve[0].RowsSeen);

        // The model is what one epoch over exactly the other chunks gives, in the epoch's shuffled order.
        var training = HoldoutSplit.Complement(10, output.HoldoutChunks!);
        var durable = await FinalCheckpointAsync(output, 1);
        var state = TrainerState.CreateInitial(durable.Options!);
        var trainer = new LogisticRegressionTrainer(durable.Options!, await StandardizationAsync(output.StatsArtifact));
        var generator = new ClassificationGenerator(Spec());
        foreach (var position in EpochPlan.ChunkOrder(7, 0, training.Length))
        {
            var generated = generator.GenerateChunk(training[position], ChunkRows);
            trainer.TrainChunk(state, 0, training[position], RowMajor(generated), generated.Labels, ChunkRows);
        }

        Assert.Equal(state.Weights.ToArray(), durable.State.Weights.ToArray());
        Assert.Equal(state.Bias.ToArray(), durable.State.Bias.ToArray());

        // The holdout metrics are those of the model on exactly the recorded chunks.
        var model = await ScorerAsync(output);
        var evaluator = new HoldoutEvaluator(model);
        foreach (var chunk in output.HoldoutChunks!)
        {
            var generated = generator.GenerateChunk(chunk, ChunkRows);
            evaluator.Add(RowMajor(generated), generated.Labels, ChunkRows, chunk);
        }

        Assert.Equal(evaluator.Compute(), output.LearningCurve[0].Holdout);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(1.0)]
    [InlineData(-0.5)]
    [InlineData(1.5)]
    public async Task EpochTraining_HoldoutFractionOutsideZeroToOne_FailsWithReason(double fraction)
    {
        await WriteDatasetAsync(chunks: 3);

        var result = await RunAsync(Input(epochs: 1) with { HoldoutFraction = fraction });

        AssertFailed(result, string.Create(CultureInfo.InvariantCulture, $"holdoutFraction must be between 0 and 1 (exclusive) when no holdout dataset is given, not {fraction}."));
    }

    [Fact]
    public async Task EpochTraining_HoldoutFractionOfOneChunk_FailsSayingTwoAreNeeded()
    {
        await WriteDatasetAsync(chunks: 1);

        var result = await RunAsync(Input(epochs: 1) with { HoldoutFraction = 0.5 });

        AssertFailed(result, "has 1 chunk; holding out a fraction of chunks needs at least 2 (or give a holdout dataset).");
    }

    [Fact]
    public async Task EpochTraining_HeldOutChunksMissAClass_FailsNamingTheChunksAndTheClass()
    {
        // Sorted by label: every chunk of 10 rows holds one class, so any one held-out chunk lacks the other class.
        var csv = new StringBuilder("x,y,label\n");
        for (var i = 0; i < 60; i++)
        {
            var label = i / 10 % 2;
            csv.Append(CultureInfo.InvariantCulture, $"{(label == 1 ? 1 : -1) * (1 + (i % 3))},{i % 7},{label}\n");
        }

        var path = Path.Combine(_folder, "sorted.csv");
        await File.WriteAllTextAsync(path, csv.ToString());

        var result = await RunAsync(Input(epochs: 2) with { Dataset = path, CsvChunkRows = 10, HoldoutFraction = 1.0 / 6 });

        var held = Assert.Single(HoldoutSplit.Choose(7, 6, 1.0 / 6));
        var missing = 1 - (held % 2);
        AssertFailed(result, string.Create(
            CultureInfo.InvariantCulture,
            $"the holdout (chunk {held} of '{path}') has no rows of class {missing} (30 training rows); it holds only class {1 - missing}, so its metrics would not measure every class"));
        AssertFailed(result, "Choose another seed or a larger holdoutFraction, or give a holdout dataset with every class.");
    }

    [Fact]
    public async Task EpochTraining_PageChecksumMismatch_FailsNamingFileRowGroupColumnAndPage()
    {
        // A value of a file with page checksums moved by one unit in the last place: within its footer range, so
        // only the checksum tells.
        var files = TestData.WriteChecksummedDataset(_data, chunks: 3, rows: 200);
        await TestData.FlipLowestBitOfValueAsync(files[2], TestData.XOf(chunk: 2, row: 50, label: 0));

        var result = await RunAsync(Input(epochs: 1));

        AssertFailed(result, $"chunk 2: column 'x' of row group 0 of '{TestStorage.Root.Relative(files[2])}' has a page checksum mismatch: page 0 (header at byte 4)");
    }

    [Fact]
    public async Task EpochTraining_UnknownLabelColumn_FailsNamingIt()
    {
        await WriteDatasetAsync(chunks: 3);

        var result = await RunAsync(Input(epochs: 1) with { LabelColumn = "target" });

        AssertFailed(result, "has no label column 'target'");
    }

    [Fact]
    public async Task EpochTraining_SingleClassData_FailsSayingSo()
    {
        var csv = new StringBuilder("x,y,label\n");
        for (var i = 0; i < 40; i++)
        {
            csv.Append(CultureInfo.InvariantCulture, $"{i},{i % 7},1\n");
        }

        var path = Path.Combine(_folder, "one-class.csv");
        await File.WriteAllTextAsync(path, csv.ToString());

        var result = await RunAsync(Input(epochs: 1) with { Dataset = path, CsvChunkRows = 10 });

        AssertFailed(result, "the training data has a single class");
    }

    [Fact]
    public async Task EpochTraining_FractionalLabels_FailsNamingTheValue()
    {
        var csv = new StringBuilder("x,label\n");
        for (var i = 0; i < 40; i++)
        {
            csv.Append(CultureInfo.InvariantCulture, $"{i},{(i % 2 == 0 ? "0" : "0.5")}\n");
        }

        var path = Path.Combine(_folder, "fractions.csv");
        await File.WriteAllTextAsync(path, csv.ToString());

        var result = await RunAsync(Input(epochs: 1) with { Dataset = path, CsvChunkRows = 10 });

        // 15, not 20: the statistics PrepareTraining checks leave out the held-out chunk (1 of 4).
        AssertFailed(result, "label column 'label' has the value '0.5' (15 rows); labels must be class indices");
    }

    [Fact]
    public async Task EpochTraining_FloatLabelColumnWithFractions_FailsNamingTheLabelColumnAndTheRule()
    {
        await TestData.WriteFloatLabelDatasetAsync(_data, chunks: 4, rows: 20, row => row % 4 == 3 ? 0.5f : row % 2);

        var result = await RunAsync(Input(epochs: 1));

        AssertFailed(result, "label column 'label' has the value '0.5'");
        AssertFailed(result, "labels must be class indices 0, 1, 2");
    }

    [Fact]
    public async Task EpochTraining_FloatLabelColumnOfClassIndices_Completes()
    {
        await TestData.WriteFloatLabelDatasetAsync(_data, chunks: 4, rows: 50, row => row % 2);

        var result = await RunAsync(Input(epochs: 1));

        Assert.Equal(OrchestrationRuntimeStatus.Completed, result.RuntimeStatus);
    }

    [Fact]
    public async Task EpochTraining_NaNFeatures_ImputesTheMeanAndCompletes()
    {
        var csv = new StringBuilder("x,y,label\n");
        for (var i = 0; i < 200; i++)
        {
            var x = i % 10 == 3 ? string.Empty : (i % 2 == 0 ? 1.0 + (i % 5) : -1.0 - (i % 5)).ToString(CultureInfo.InvariantCulture);
            csv.Append(CultureInfo.InvariantCulture, $"{x},{i % 7},{i % 2}\n");
        }

        var path = Path.Combine(_folder, "holes.csv");
        await File.WriteAllTextAsync(path, csv.ToString());

        var result = await RunAsync(Input(epochs: 2) with { Dataset = path, CsvChunkRows = 50, HoldoutFraction = 0.25 });

        Assert.Equal(OrchestrationRuntimeStatus.Completed, result.RuntimeStatus);
        var curve = result.ReadOutputAs<EpochTrainingOutput>()!.LearningCurve;
        Assert.All(curve, m => Assert.True(double.IsFinite(m.Holdout.LogLoss), m.ToString()));

        // Rows with x missing are scored at the mean of x; the others are separable by the sign of x.
        Assert.True(curve[^1].Holdout.Accuracy >= 0.9, curve[^1].ToString());
    }

    [Fact]
    public async Task EpochTraining_HoldoutWithOtherColumns_FailsSayingSchemaDiffers()
    {
        await WriteDatasetAsync(chunks: 3);
        var holdout = Path.Combine(_folder, "holdout");
        var generator = new ClassificationGenerator(new ClassificationSpec(Features: 4, Informative: 2, Redundant: 0, Seed: 3));
        await TestData.WriteParquetChunkAsync(generator, 0, 100, Path.Combine(holdout, "part-00000.parquet"));

        var result = await RunAsync(Input(epochs: 1) with { Holdout = holdout });

        AssertFailed(result, "does not match the training schema: it has no numeric column 'f4'");
    }

    [Fact]
    public async Task EpochTraining_CsvHoldoutOfParquetTraining_EvaluatesOnIt()
    {
        await WriteDatasetAsync(chunks: 3);
        var generator = new ClassificationGenerator(Spec());
        var chunk = generator.GenerateChunk(9, 300);
        var csv = new StringBuilder(string.Join(',', generator.ColumnNames) + ",label\n");
        for (var row = 0; row < chunk.RowCount; row++)
        {
            foreach (var column in chunk.Features)
            {
                csv.Append(column[row].ToString("R", CultureInfo.InvariantCulture)).Append(',');
            }

            csv.Append(chunk.Labels[row]).Append('\n');
        }

        var holdout = Path.Combine(_folder, "holdout.csv");
        await File.WriteAllTextAsync(holdout, csv.ToString());

        var result = await RunAsync(Input(epochs: 1) with { Holdout = holdout, CsvChunkRows = 100 });

        Assert.Equal(OrchestrationRuntimeStatus.Completed, result.RuntimeStatus);
        var metrics = result.ReadOutputAs<EpochTrainingOutput>()!.LearningCurve[0];
        Assert.Equal(300, metrics.Holdout.Rows);
        Assert.Equal(1_500, metrics.RowsSeen);
        Assert.True(metrics.Holdout.Accuracy > 0.7, metrics.ToString());
    }

    [Theory]
    [InlineData(0, 1, "epochs must be at least 1, not 0.")]
    [InlineData(2, 0, "parallelism (K) must be between 1 and 1000, not 0.")]
    public async Task EpochTraining_EpochsOrParallelismBelowOne_FailsWithReason(int epochs, int parallelism, string reason)
    {
        var result = await RunAsync(Input(epochs) with { Parallelism = parallelism });

        AssertFailed(result, reason);
    }

    [Fact]
    public void EpochTrainingInput_ReadmeRequestBody_DeserializesWithScheduleByName()
    {
        const string body = """
            {"dataset":"/tmp/demo","labelColumn":"label","modelName":"demo","holdoutFraction":0.2,"epochs":5,
             "schedule":"Optimal","learningRate":0.1,"l2":0.0001,"batchSize":32,"seed":7,"patience":2,"parallelism":2}
            """;

        var input = WebJsonDataConverter.Instance.Deserialize<EpochTrainingInput>(body)!;

        Assert.Equal(new EpochTrainingInput("/tmp/demo", "label", "demo", Epochs: 5, Schedule: LearningRateSchedule.Optimal, L2: 0.0001f, Seed: 7, Patience: 2, Parallelism: 2), input);
        Assert.Contains("\"schedule\":\"Optimal\"", WebJsonDataConverter.Instance.Serialize(input), StringComparison.Ordinal);
    }

    private EpochTrainingInput Input(int epochs) => new(_data, "label", "demo", Epochs: epochs, Seed: 7, BatchSize: 16, LearningRate: 0.2f);

    private Task<SdkHarness> StartAsync() =>
        SdkHarness.StartAsync(r => r.AddWorkflowFunctions(kernel: SimdStatisticsKernel.Instance, modelRegistry: _registry, dataRoot: TestStorage.Root));

    private async Task<OrchestrationMetadata> RunAsync(EpochTrainingInput input)
    {
        await using var harness = await StartAsync();
        return await harness.RunAsync(EpochTrainingOrchestrator.Name, input);
    }

    private async Task<string> RunStatisticsAsync()
    {
        await using var harness = await StartAsync();
        var result = await harness.RunAsync(ChunkedStatisticsOrchestrator.Name, new ChunkedStatisticsInput(_data, "label", HistogramBins: 0, Quantiles: []));
        return result.ReadOutputAs<ChunkedStatisticsOutput>()!.ArtifactPath;
    }

    private static ClassificationSpec Spec(int classes = 2) => new GenerateDatasetInput(3_000, Features, 3, ChunkRows, DataSeed, "unused", Classes: classes).ToSpec();

    private async Task<List<string>> WriteDatasetAsync(int chunks, int classes = 2)
    {
        var generator = new ClassificationGenerator(Spec(classes));
        var files = new List<string>();
        for (var c = 0; c < chunks; c++)
        {
            var path = Path.Combine(_data, GenerateDatasetChunkActivity.FileName(c));
            await TestData.WriteParquetChunkAsync(generator, c, ChunkRows, path);
            files.Add(path);
        }

        return files;
    }

    private static float[] RowMajor(GeneratedChunk chunk)
    {
        var rows = new float[chunk.RowCount * chunk.Features.Count];
        for (var f = 0; f < chunk.Features.Count; f++)
        {
            for (var row = 0; row < chunk.RowCount; row++)
            {
                rows[(row * chunk.Features.Count) + f] = chunk.Features[f][row];
            }
        }

        return rows;
    }

    private static async Task<FeatureStandardization> StandardizationAsync(string artifact)
    {
        var report = StatisticsReport.FromArtifactJson(await File.ReadAllBytesAsync(artifact));
        return new FeatureStandardization(report.Columns.Select(c => (float)c.Mean).ToArray(), report.Columns.Select(c => (float)c.PopulationStd).ToArray());
    }

    private async Task AssertOnnxMatchesScorerAsync(EpochTrainingOutput output, GeneratedChunk holdout)
    {
        var model = await ScorerAsync(output);
        var rows = RowMajor(holdout);
        var expected = new float[ChunkRows * model.OutputCount];
        model.PredictProbabilities(rows, ChunkRows, expected);
        using var session = new InferenceSession(await _registry.ReadArtifactAsync(output.ModelName, output.Version));
        using var scored = session.Run([NamedOnnxValue.CreateFromTensor(OnnxModelExporter.FeaturesInput, new DenseTensor<float>(rows, [ChunkRows, Features]))]);
        var probabilities = scored.Single(r => r.Name == OnnxModelExporter.ProbabilitiesOutput).AsTensor<float>();
        Assert.Equal([ChunkRows, model.OutputCount], probabilities.Dimensions.ToArray());
        var actual = probabilities.ToArray();
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.Equal(expected[i], actual[i], 1e-5f);
        }
    }

    private static async Task<LogisticRegressionModel> ScorerAsync(EpochTrainingOutput output)
    {
        var checkpoint = TrainingCheckpoint.FromJson(await File.ReadAllBytesAsync(output.Checkpoint));
        return LogisticRegressionModel.FromState(checkpoint.State, await StandardizationAsync(output.StatsArtifact));
    }

    private static async Task<TrainingCheckpoint> FinalCheckpointAsync(EpochTrainingOutput output, int epoch) =>
        TrainingCheckpoint.FromJson(await File.ReadAllBytesAsync(Path.Combine(Path.GetDirectoryName(output.Checkpoint)!, $"epoch-{epoch}.json")));

    private static void AssertFailed(OrchestrationMetadata result, string reason) => TestData.AssertFailed(result, reason);

    private sealed class FeatureRow
    {
        [ColumnName(OnnxModelExporter.FeaturesInput)]
        [VectorType(EpochTrainingTests.Features)]
        public float[] Features { get; set; } = [];
    }

    private sealed class Prediction
    {
        [ColumnName(OnnxModelExporter.ProbabilitiesOutput)]
        public float[] Probabilities { get; set; } = [];

        [ColumnName(OnnxModelExporter.LabelOutput)]
        public long[] Label { get; set; } = [];
    }
}
