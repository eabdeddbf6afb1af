using System.Globalization;
using System.Reflection;
using Workflows.ML.Data;
using Workflows.ML.Onnx;
using Workflows.ML.Registry;
using Workflows.ML.Training;
using Workflows.Host.Functions;

namespace Workflows.Functions.Training;

/// <summary>
/// Exports the kept epoch's model to ONNX (standardization included), writes it next to the checkpoints and
/// registers it with its metrics and lineage. The activity's idempotency key goes with the registration, so a
/// retried attempt gets back the version the first attempt made instead of a second one.
/// </summary>
public sealed class RegisterModelActivity(IDatasetStorage storage, IModelRegistry registry)
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
        var registered = await registry.RegisterAsync(new ModelRegistration(input.ModelName, "onnx", metrics, lineage, input.IdempotencyKey), onnx, cancellationToken);
        return new RegisteredModelReference(registered.Version, artifactPath);
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
