using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask;
using Workflows.Functions.Training;
using Workflows.ML.Monitoring;
using Workflows.ML.Registry;
using Workflows.ML.Search;
using Workflows.ML.Search.Learners;
using Workflows.ML.Search.Space;
using Workflows.Functions.Orchestration;

namespace Workflows.Functions.Search;

/// <summary>Input of <see cref="RefitAndRegisterActivity"/>.</summary>
/// <param name="Data">The rows; the model is fitted on all of them.</param>
/// <param name="Learner">The learner.</param>
/// <param name="Parameters">The winner's parameters.</param>
/// <param name="Resource">The resource of the fit: all rows for <c>n_samples</c>, else the most trees or epochs.</param>
/// <param name="Seed">The learner's seed.</param>
/// <param name="ModelName">Name to register under.</param>
/// <param name="Metrics">Metrics of the registration (the winner's cross-validated score).</param>
/// <param name="Lineage">Lineage parameters: the space, the seed, the rounds and the settings of the search.</param>
public sealed record RefitInput(
    SearchDataRef Data,
    string Learner,
    IReadOnlyDictionary<string, ParameterValue> Parameters,
    Resource Resource,
    long Seed,
    string ModelName,
    IReadOnlyDictionary<string, double> Metrics,
    IReadOnlyDictionary<string, string> Lineage);

/// <summary>A registered model.</summary>
/// <param name="Name">Its name.</param>
/// <param name="Version">Its version.</param>
/// <param name="Format">The artifact's format: <c>mlnet</c> (ML.NET's model .zip) or <c>onnx</c>.</param>
public sealed record SearchModelReference(string Name, int Version, string Format);

/// <summary>
/// Fits the search's winner on all rows and registers it with its cross-validated score and lineage (its feature
/// columns as <c>featureColumns</c>) and with a reference profile of those rows (<see cref="ReferenceProfile"/>, as
/// EpochTraining stores one), so drift checks of the version work once it serves. The registration carries an
/// idempotency key of the instance, so a retried attempt gets the version the first made.
/// </summary>
public sealed class RefitAndRegisterActivity(SearchDataLoader loader, IModelRegistry registry) : TaskActivity<RefitInput, SearchModelReference>
{
    /// <summary>Registered name.</summary>
    public const string Name = "SearchRefitAndRegister";

    /// <summary>The activity as a function: <see cref="TaskFunctions.RunActivityAsync{TActivity, TInput, TOutput}"/>.</summary>
    [Function(Name)]
    public static Task<SearchModelReference> RunFunctionAsync([ActivityTrigger] RefitInput input, string instanceId, FunctionContext executionContext) =>
        TaskFunctions.RunActivityAsync<RefitAndRegisterActivity, RefitInput, SearchModelReference>(Name, input, instanceId, executionContext);

    /// <inheritdoc />
    public override async Task<SearchModelReference> RunAsync(TaskActivityContext context, RefitInput input)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(input);
        var data = await loader.LoadAsync(input.Data, CancellationToken.None);
        var learner = LearnerCatalog.Create(input.Learner);
        var resource = input.Resource.Kind == ResourceKind.NSamples ? new Resource(ResourceKind.NSamples, data.RowCount) : input.Resource;
        var model = learner.Train(data, input.Parameters, resource, input.Seed);
        using var artifact = new MemoryStream();
        model.Save(artifact);

        // The registry's formats are lower-case letters and digits; serving loads "mlnet" as ML.NET's .zip.
        var format = model.Format == "onnx" ? "onnx" : "mlnet";
        var features = await loader.FeatureNamesAsync(input.Data, CancellationToken.None);
        var parameters = new SortedDictionary<string, string>(input.Lineage.ToDictionary(), StringComparer.Ordinal) { ["featureColumns"] = string.Join(',', features) };
        var lineage = new ModelLineage(input.Data.Dataset, string.Empty, parameters, RegisterModelActivity.Commit());
        var files = new Dictionary<string, byte[]>(StringComparer.Ordinal) { [ReferenceProfile.FileName] = Reference(model, data, features).ToJson() };
        var registration = new ModelRegistration(input.ModelName, format, input.Metrics, lineage, $"{context.InstanceId}:{Name}", files);
        var registered = await registry.RegisterAsync(registration, artifact.ToArray(), CancellationToken.None);
        return new SearchModelReference(registered.Name, registered.Version, registered.Format);
    }

    /// <summary>
    /// The reference profile of <paramref name="model"/> on <paramref name="data"/>. Its prediction is what the
    /// prediction service samples for the model: a binary classifier's probability of class 1, else the class.
    /// </summary>
    internal static ReferenceProfile Reference(ITrainedModel model, TrainingSet data, IReadOnlyList<string> features)
    {
        var rows = data.RowCount;
        var classes = model.ClassCount;
        var probabilities = model.PredictProbabilities(data.Features, rows);
        var predictions = new float[rows];
        for (var r = 0; r < rows; r++)
        {
            predictions[r] = classes == 2 ? probabilities[(r * 2) + 1] : ReferencePrediction.Of(probabilities.AsSpan(r * classes, classes));
        }

        var columns = ReferencePrediction.Columns(data.Features, rows, data.FeatureCount);
        var partial = new ReferencePartial(features);
        partial.AddChunk(columns, predictions);
        var profile = ReferenceProfile.Build(partial, TimeProvider.System.GetUtcNow());
        var counts = BinCounts.For(profile);
        counts.Add(profile, columns, predictions);
        return profile.WithCountedProportions(counts);
    }
}
