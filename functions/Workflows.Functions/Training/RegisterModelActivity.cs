using System.Globalization;
using System.Reflection;
using Workflows.ML.Data;
using Workflows.ML.Data.Caching;
using Workflows.ML.Monitoring;
using Workflows.ML.Onnx;
using Workflows.ML.Registry;
using Workflows.ML.Training;
using Microsoft.Azure.Functions.Worker;

namespace Workflows.Functions.Training;

/// <summary>
/// Exports the kept epoch's model to ONNX (standardization included), writes it next to the checkpoints and
/// registers it with its metrics and lineage and its reference profile (<see cref="ReferenceProfile"/>, stored as
/// <see cref="ReferenceProfile.FileName"/> beside the artifact; the manifest, written last, records its hash). The
/// profile is computed on the holdout with the kept model: quantile edges per feature and of the prediction, then
/// the holdout counted into those edges for exact shares (two passes over chunks the holdout evaluation left in the
/// decoded-chunk cache). The activity's idempotency key goes with the registration, so a retried attempt gets back
/// the version the first attempt made instead of a second one.
/// </summary>
public sealed class RegisterModelActivity(IDatasetStorage storage, IModelRegistry registry, DatasetReader reader, DecodedChunkCache chunkCache)
{
    /// <summary>Registered name.</summary>
    public const string Name = "RegisterModel";

    /// <summary>Environment variable with the source commit recorded in the lineage (CI sets it); the assembly's
    /// informational version (<c>1.0.0+sha</c>) is used when it is not set.</summary>
    public const string CommitVariable = "WORKFLOWS_COMMIT";

    /// <summary>File name of the ONNX model in the run folder.</summary>
    public const string ArtifactFileName = "model.onnx";

    /// <summary>Runs the activity; <paramref name="context"/> carries the host's stopping token.</summary>
    [Function(Name)]
    public async Task<RegisteredModelReference> RunAsync([ActivityTrigger] RegisterModelInput input, FunctionContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(input);
        var cancellationToken = context.CancellationToken;
        var checkpoint = await TrainingStorage.ReadCheckpointAsync(storage, input.Checkpoint, cancellationToken);
        checkpoint.EnsureResumableWith(input.Options);
        var standardization = await TrainingStorage.LoadStandardizationAsync(storage, input.StatsArtifact, input.Features, cancellationToken);
        var model = LogisticRegressionModel.FromState(checkpoint.State, standardization);
        var features = string.Join(',', input.Features.Select(f => f.Name));
        var onnx = OnnxModelExporter.Export(model, string.Create(CultureInfo.InvariantCulture, $"{input.ModelName}: logistic regression on [{features}], epoch {input.Best.Epoch}"));
        var artifactPath = storage.Combine(input.RunFolder, ArtifactFileName);
        await storage.WriteAsync(artifactPath, onnx, cancellationToken);

        var metrics = new Dictionary<string, double>(StringComparer.Ordinal)
        {
            ["accuracy"] = input.Best.Holdout.Accuracy,
            ["logLoss"] = input.Best.Holdout.LogLoss,
            ["rocAuc"] = input.Best.Holdout.RocAuc,
            ["epoch"] = input.Best.Epoch,
            ["holdoutRows"] = input.Best.Holdout.Rows,
        };
        var parameters = new SortedDictionary<string, string>(input.Parameters.ToDictionary(), StringComparer.Ordinal) { ["featureColumns"] = features };
        var lineage = new ModelLineage(input.Dataset, input.StatsArtifact, parameters, Commit());
        var files = input.Holdout is null
            ? null
            : new Dictionary<string, byte[]>(StringComparer.Ordinal)
            {
                [ReferenceProfile.FileName] = (await ReferenceAsync(model, input, input.Holdout, cancellationToken)).ToJson(),
            };
        var registered = await registry.RegisterAsync(new ModelRegistration(input.ModelName, "onnx", metrics, lineage, input.IdempotencyKey, files), onnx, cancellationToken);
        return new RegisteredModelReference(registered.Version, artifactPath);
    }

    /// <summary>The reference profile of <paramref name="model"/> on the holdout: edges from a sketch pass, shares counted in a second pass.</summary>
    private async Task<ReferenceProfile> ReferenceAsync(LogisticRegressionModel model, RegisterModelInput input, DatasetDescription holdout, CancellationToken cancellationToken)
    {
        var partial = new ReferencePartial([.. input.Features.Select(f => f.Name)]);
        await ForEachChunkAsync(model, input, holdout, (columns, predictions) => partial.AddChunk(columns, predictions), cancellationToken);
        var profile = ReferenceProfile.Build(partial, TimeProvider.System.GetUtcNow());
        var counts = BinCounts.For(profile);
        await ForEachChunkAsync(model, input, holdout, (columns, predictions) => counts.Add(profile, columns, predictions), cancellationToken);
        return profile.WithCountedProportions(counts);
    }

    private async Task ForEachChunkAsync(
        LogisticRegressionModel model, RegisterModelInput input, DatasetDescription holdout, Action<float[][], float[]> add, CancellationToken cancellationToken)
    {
        var chunks = TrainingStorage.ReadChunksAsync(
            chunkCache, input.RunFolder, reader, holdout, holdout.Chunks, input.HoldoutFeatures ?? input.Features, TrainingStorage.DefaultReadAhead, cancellationToken);
        await foreach (var chunk in chunks)
        {
            var rows = chunk.RowCount;
            var probabilities = new float[rows * model.OutputCount];
            model.PredictProbabilities(chunk.Features.Span, rows, probabilities, chunk.Index);
            var predictions = new float[rows];
            for (var r = 0; r < rows; r++)
            {
                predictions[r] = ReferencePrediction.Of(probabilities.AsSpan(r * model.OutputCount, model.OutputCount));
            }

            add(ReferencePrediction.Columns(chunk.Features.Span, rows, model.FeatureCount), predictions);
        }
    }

    /// <summary>The source commit, or <see langword="null"/> when neither the environment nor the build records one.</summary>
    internal static string? Commit()
    {
        var fromEnvironment = Environment.GetEnvironmentVariable(CommitVariable);
        if (!string.IsNullOrWhiteSpace(fromEnvironment))
        {
            return fromEnvironment.Trim();
        }

        var informational = typeof(RegisterModelActivity).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion;
        var plus = informational?.IndexOf('+', StringComparison.Ordinal) ?? -1;
        return plus >= 0 ? informational![(plus + 1)..] : null;
    }
}
