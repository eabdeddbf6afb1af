using System.Diagnostics;
using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers;
using Workflows.ML.Training;

namespace Workflows.Bench;

/// <summary>
/// The <c>train</c> scenario: compute-only throughput and holdout quality of our chunked SGD trainer on in-memory
/// synthetic data, and in the same run the naive port (ML.NET's SgdCalibrated, warm-started chunk by chunk) as
/// the baseline ratio.
/// </summary>
internal static class TrainScenario
{
    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web);

    public static int Run(TrainOptions options)
    {
        Console.WriteLine(
            $"train: {options.Rows:N0} rows × {options.Features} float32 ({options.Informative} informative), {options.Chunks} chunks, "
            + $"{options.Epochs} epochs, holdout {options.HoldoutRows:N0} rows, batch {options.BatchSize}, K = {options.Workers}");
        var data = new SyntheticLinearData(options.Features, options.Informative, options.Noise, options.Seed);
        var generate = Stopwatch.StartNew();
        var train = data.Generate(options.Rows, options.Chunks, seed: 1);
        var holdout = data.Generate(options.HoldoutRows, Math.Max(1, options.HoldoutRows / 10_000), seed: 2);
        Console.WriteLine($"generated in {generate.Elapsed.TotalSeconds:F1} s");

        var ours = RunOurs(options, train, holdout);
        var baseline = options.Baseline ? RunBaseline(options, train, holdout) : null;
        var trainedRows = (double)options.Rows * options.Epochs;

        Console.WriteLine();
        // CPU seconds next to wall seconds: on a shared machine the wall clock also measures the neighbours.
        Console.WriteLine($"{"trainer",-36} {"wall s",8} {"cpu s",8} {"rows/s",12} {"rows/cpu-s",12} {"accuracy",9} {"log loss",9} {"AUC",7}");
        Console.WriteLine(
            $"{"ours (SGD, Span + TensorPrimitives)",-36} {ours.Seconds,8:F2} {ours.CpuSeconds,8:F2} {trainedRows / ours.Seconds,12:N0} {trainedRows / ours.CpuSeconds,12:N0} "
            + $"{ours.Metrics.Accuracy,9:F4} {ours.Metrics.LogLoss,9:F4} {ours.Metrics.RocAuc,7:F4}");
        if (options.Epochs > 1)
        {
            Console.WriteLine($"ours after the first epoch (JIT warm): {(double)options.Rows * (options.Epochs - 1) / ours.WarmSeconds:N0} rows/s");
        }

        if (baseline is not null)
        {
            var b = baseline.Value;
            Console.WriteLine(
                $"{"ML.NET SgdCalibrated, warm per chunk",-36} {b.Seconds,8:F2} {b.CpuSeconds,8:F2} {trainedRows / b.Seconds,12:N0} {trainedRows / b.CpuSeconds,12:N0} {b.Accuracy,9:F4} {"-",9} {"-",7}");
            Console.WriteLine($"speed-up over the baseline: x{b.Seconds / ours.Seconds:F1} wall, x{b.CpuSeconds / ours.CpuSeconds:F1} per CPU second");
        }

        var summary = new
        {
            scenario = "train",
            rows = options.Rows,
            features = options.Features,
            informative = options.Informative,
            chunks = options.Chunks,
            epochs = options.Epochs,
            holdoutRows = options.HoldoutRows,
            batchSize = options.BatchSize,
            workers = options.Workers,
            computeSeconds = Math.Round(ours.Seconds, 3),
            rowsPerSecond = Math.Round(trainedRows / ours.Seconds),
            warmRowsPerSecond = options.Epochs > 1 ? Math.Round((double)options.Rows * (options.Epochs - 1) / ours.WarmSeconds) : (double?)null,
            cpuSeconds = Math.Round(ours.CpuSeconds, 3),
            rowsPerCpuSecond = Math.Round(trainedRows / ours.CpuSeconds),
            holdoutAccuracy = Math.Round(ours.Metrics.Accuracy, 4),
            holdoutLogLoss = Math.Round(ours.Metrics.LogLoss, 4),
            holdoutAuc = Math.Round(ours.Metrics.RocAuc, 4),
            learningCurve = ours.Curve.Select(m => Math.Round(m, 4)).ToArray(),
            baselineSeconds = baseline is null ? (double?)null : Math.Round(baseline.Value.Seconds, 3),
            baselineRowsPerSecond = baseline is null ? (double?)null : Math.Round(trainedRows / baseline.Value.Seconds),
            baselineRowsPerCpuSecond = baseline is null ? (double?)null : Math.Round(trainedRows / baseline.Value.CpuSeconds),
            baselineAccuracy = baseline is null ? (double?)null : Math.Round(baseline.Value.Accuracy, 4),
            speedupOverBaseline = baseline is null ? (double?)null : Math.Round(baseline.Value.Seconds / ours.Seconds, 2),
            cpuSpeedupOverBaseline = baseline is null ? (double?)null : Math.Round(baseline.Value.CpuSeconds / ours.CpuSeconds, 2),
            processorCount = Environment.ProcessorCount,
        };
        Console.WriteLine(JsonSerializer.Serialize(summary, JsonOptions));
        return 0;
    }

    private static (double Seconds, double CpuSeconds, double WarmSeconds, EvaluationMetrics Metrics, double[] Curve) RunOurs(TrainOptions options, TrainingChunk[] train, TrainingChunk[] holdout)
    {
        var trainingOptions = new TrainingOptions(
            options.Features, 2, LearningRateSchedule.InverseScaling, options.LearningRate, BatchSize: options.BatchSize, Seed: options.Seed);

        // The generator's features are standard normal: the stats artifact would say mean 0, std 1.
        var standardization = FeatureStandardization.Identity(options.Features);
        var state = TrainerState.CreateInitial(trainingOptions);
        var curve = new double[options.Epochs];
        var training = new Stopwatch();
        var cpu = TimeSpan.Zero;
        var firstEpoch = TimeSpan.Zero;
        EvaluationMetrics? metrics = null;
        for (var epoch = 0; epoch < options.Epochs; epoch++)
        {
            var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
            training.Start();
            state = DataParallelEpoch.Run(trainingOptions, standardization, state, epoch, train, options.Workers, maxThreads: Environment.ProcessorCount);
            training.Stop();
            cpu += Process.GetCurrentProcess().TotalProcessorTime - cpuBefore;
            if (epoch == 0)
            {
                firstEpoch = training.Elapsed;
            }

            metrics = Evaluate(LogisticRegressionModel.FromState(state, standardization), holdout);
            curve[epoch] = metrics.Accuracy;
            Console.WriteLine($"  ours epoch {epoch + 1}: {training.Elapsed.TotalSeconds:F2} s, {cpu.TotalSeconds:F2} cpu-s cumulative, holdout accuracy {metrics.Accuracy:F4}");
        }

        // The first epoch also pays for JIT compilation; a long-running worker only ever runs warm epochs.
        var warmSeconds = options.Epochs > 1 ? (training.Elapsed - firstEpoch).TotalSeconds : double.NaN;
        return (training.Elapsed.TotalSeconds, cpu.TotalSeconds, warmSeconds, metrics!, curve);
    }

    private static EvaluationMetrics Evaluate(LogisticRegressionModel model, TrainingChunk[] holdout)
    {
        var evaluator = new HoldoutEvaluator(model);
        foreach (var chunk in holdout)
        {
            evaluator.Add(chunk.Features.Span, chunk.Labels.Span, chunk.RowCount, chunk.Index);
        }

        return evaluator.Compute();
    }

    /// <summary>
    /// The naive port: ML.NET SGD (<c>SgdCalibrated</c>, one pass per call) fitted chunk by chunk, each fit warm-started
    /// from the previous linear model, chunks in the same shuffled order. Rows are handed to ML.NET as objects built
    /// before the clock starts, which favours the baseline.
    /// </summary>
    private static (double Seconds, double CpuSeconds, double Accuracy)? RunBaseline(TrainOptions options, TrainingChunk[] train, TrainingChunk[] holdout)
    {
        var context = new MLContext(seed: (int)options.Seed);
        var views = new IDataView[train.Length];
        for (var i = 0; i < train.Length; i++)
        {
            views[i] = context.Data.LoadFromEnumerable(ToRows(train[i], options.Features), SchemaFor(options.Features));
        }

        var trainer = context.BinaryClassification.Trainers.SgdCalibrated(new SgdCalibratedTrainer.Options
        {
            NumberOfIterations = 1,
            Shuffle = true,
        });
        LinearBinaryModelParameters? model = null;
        var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        var stopwatch = Stopwatch.StartNew();
        for (var epoch = 0; epoch < options.Epochs; epoch++)
        {
            foreach (var chunk in EpochPlan.ChunkOrder(options.Seed, epoch, train.Length))
            {
                var fitted = model is null ? trainer.Fit(views[chunk]) : trainer.Fit(views[chunk], model);
                model = fitted.Model.SubModel;
            }

            Console.WriteLine($"  baseline epoch {epoch + 1}: {stopwatch.Elapsed.TotalSeconds:F2} s cumulative");
        }

        stopwatch.Stop();
        var cpu = Process.GetCurrentProcess().TotalProcessorTime - cpuBefore;
        return (stopwatch.Elapsed.TotalSeconds, cpu.TotalSeconds, Accuracy(model!, holdout, options.Features));
    }

    /// <summary>ML.NET predicts class 1 when the linear score is positive (the calibrator is monotone).</summary>
    private static double Accuracy(LinearBinaryModelParameters model, TrainingChunk[] holdout, int features)
    {
        var weights = model.Weights.ToArray();
        long correct = 0;
        long rows = 0;
        foreach (var chunk in holdout)
        {
            var x = chunk.Features.Span;
            var labels = chunk.Labels.Span;
            for (var row = 0; row < chunk.RowCount; row++)
            {
                var score = System.Numerics.Tensors.TensorPrimitives.Dot(weights, x.Slice(row * features, features)) + model.Bias;
                correct += (score > 0 ? 1 : 0) == labels[row] ? 1 : 0;
                rows++;
            }
        }

        return (double)correct / rows;
    }

    private static BaselineRow[] ToRows(TrainingChunk chunk, int features)
    {
        var rows = new BaselineRow[chunk.RowCount];
        var x = chunk.Features.Span;
        var labels = chunk.Labels.Span;
        for (var row = 0; row < rows.Length; row++)
        {
            rows[row] = new BaselineRow { Features = x.Slice(row * features, features).ToArray(), Label = labels[row] == 1 };
        }

        return rows;
    }

    private static SchemaDefinition SchemaFor(int features)
    {
        var schema = SchemaDefinition.Create(typeof(BaselineRow));
        schema[nameof(BaselineRow.Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, features);
        return schema;
    }

    private sealed class BaselineRow
    {
        public float[] Features { get; set; } = [];

        public bool Label { get; set; }
    }
}
