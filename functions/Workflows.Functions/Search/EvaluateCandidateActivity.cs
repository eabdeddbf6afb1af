using Microsoft.Azure.Functions.Worker;
using System.Text.Json;
using Microsoft.DurableTask;
using Workflows.ML.Data;
using Workflows.ML.Search.Evaluation;
using Workflows.Functions.Orchestration;

namespace Workflows.Functions.Search;

/// <summary>Input of <see cref="EvaluateCandidateActivity"/>: one candidate at one resource, all its folds.</summary>
/// <param name="Data">The rows.</param>
/// <param name="Request">Learner, parameters, resource, folds, metric and seed.</param>
/// <param name="ResumeFrom">A checkpoint file a previous evaluation of this candidate wrote (SGD by epochs), or null.</param>
/// <param name="CheckpointPath">Where to write this evaluation's checkpoint when the learner leaves one; null writes none.</param>
public sealed record EvaluateCandidateInput(SearchDataRef Data, EvaluationRequest Request, string? ResumeFrom = null, string? CheckpointPath = null);

/// <summary>Output of <see cref="EvaluateCandidateActivity"/>.</summary>
/// <param name="FoldScores">Test score per fold, higher is better; null where the score is undefined (NaN).</param>
/// <param name="Checkpoint">The checkpoint file written (one checkpoint per fold), or null when the learner cannot resume.</param>
public sealed record EvaluateCandidateOutput(IReadOnlyList<double?> FoldScores, string? Checkpoint = null)
{
    /// <summary>The fold scores with NaN for null.</summary>
    public IReadOnlyList<double> Scores() => [.. FoldScores.Select(score => score ?? double.NaN)];
}

/// <summary>
/// One evaluation of a search: the candidate's parameters trained and scored on every stratified fold at the given
/// resource (<see cref="TrialEvaluator"/>), resuming each fold from <see cref="EvaluateCandidateInput.ResumeFrom"/>
/// when given, and the folds' checkpoints written to <see cref="EvaluateCandidateInput.CheckpointPath"/>.
/// </summary>
public sealed class EvaluateCandidateActivity(IDatasetStorage storage, SearchDataLoader loader) : TaskActivity<EvaluateCandidateInput, EvaluateCandidateOutput>
{
    /// <summary>Registered name.</summary>
    public const string Name = "SearchEvaluateCandidate";

    /// <summary>The activity as a function: <see cref="TaskFunctions.RunActivityAsync{TActivity, TInput, TOutput}"/>.</summary>
    [Function(Name)]
    public static Task<EvaluateCandidateOutput> RunFunctionAsync([ActivityTrigger] EvaluateCandidateInput input, string instanceId, FunctionContext executionContext) =>
        TaskFunctions.RunActivityAsync<EvaluateCandidateActivity, EvaluateCandidateInput, EvaluateCandidateOutput>(Name, input, instanceId, executionContext);

    /// <inheritdoc />
    public override async Task<EvaluateCandidateOutput> RunAsync(TaskActivityContext context, EvaluateCandidateInput input)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(input);
        var data = await loader.LoadAsync(input.Data, CancellationToken.None);
        IReadOnlyList<byte[]?>? resume = null;
        if (input.ResumeFrom is not null)
        {
            await using var stream = await storage.OpenReadAsync(input.ResumeFrom, CancellationToken.None);
            resume = await JsonSerializer.DeserializeAsync<byte[]?[]>(stream)
                ?? throw new InvalidDataException($"checkpoint '{input.ResumeFrom}' is empty.");
        }

        var evaluation = TrialEvaluator.Evaluate(data, input.Request, resume);
        string? written = null;
        if (input.CheckpointPath is not null && evaluation.FoldCheckpoints.Any(checkpoint => checkpoint is not null))
        {
            await storage.WriteAsync(input.CheckpointPath, JsonSerializer.SerializeToUtf8Bytes(evaluation.FoldCheckpoints), CancellationToken.None);
            written = input.CheckpointPath;
        }

        return new EvaluateCandidateOutput([.. evaluation.FoldScores.Select(SearchOutputs.Finite)], written);
    }
}
