using System.Text.Json;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Workflows.Functions.Http;
using Workflows.ML.Data;

namespace Workflows.Functions.Retraining;

/// <summary>
/// Starts <see cref="RetrainingPipelineOrchestrator"/> on a schedule (docs/workflows/retraining-pipeline.md): the
/// six-field NCRONTAB expression of app setting <see cref="ScheduleSetting"/>, with the pipeline's input read at each
/// tick from the JSON file that <see cref="InputSetting"/> names under the data root. Each model's pipeline runs under
/// one fixed instance id, <see cref="InstanceIdFor"/>; a tick that finds it still running (or pending, or suspended)
/// starts nothing and says so. Ships disabled (<c>AzureWebJobs.RetrainingTimer.Disabled</c>), as it needs both settings.
/// </summary>
public sealed class RetrainingTimer(DataRoot dataRoot, IConfiguration configuration, ILogger<RetrainingTimer> logger)
{
    /// <summary>Function name.</summary>
    public const string Name = "RetrainingTimer";

    /// <summary>App setting with the schedule (six-field NCRONTAB, UTC), e.g. <c>0 0 2 * * *</c> for 02:00 every day.</summary>
    public const string ScheduleSetting = "WorkflowsRetrainingSchedule";

    /// <summary>App setting naming the JSON file with the pipeline's input (<see cref="RetrainingPipelineInput"/>), relative to the data root.</summary>
    public const string InputSetting = "WorkflowsRetrainingInput";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>The one instance id under which the pipeline of <paramref name="model"/> runs, from the timer and by convention over HTTP.</summary>
    public static string InstanceIdFor(string model) => "retraining-" + model;

    /// <summary>One tick: starts the pipeline unless its instance is still active.</summary>
    [Function(Name)]
    public async Task RunAsync(
        [TimerTrigger("%" + ScheduleSetting + "%")] TimerInfo timer,
        [DurableClient] DurableTaskClient client,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(timer);
        ArgumentNullException.ThrowIfNull(client);
        var input = await ReadInputAsync(configuration[InputSetting], cancellationToken);
        var instanceId = InstanceIdFor(input.Model);
        try
        {
            // Refused while the id's instance is pending, running or suspended (the start's dedupe statuses): one run at a time.
            await client.ScheduleNewOrchestrationInstanceAsync(
                new TaskName(RetrainingPipelineOrchestrator.Name), input, HttpStarter.OptionsFor(instanceId), cancellationToken);
        }
        catch (Exception exception) when (HttpStarter.IsAlreadyExists(exception))
        {
            logger.LogInformation("Retraining tick skipped: {InstanceId} is still pending, running or suspended", instanceId);
            return;
        }

        logger.LogInformation("Retraining tick started {InstanceId}{PastDue}", instanceId, timer.IsPastDue ? " (past due)" : string.Empty);
    }

    /// <summary>The pipeline's input from the file <paramref name="path"/> names under the data root; a clear error when it cannot be used.</summary>
    internal async Task<RetrainingPipelineInput> ReadInputAsync(string? path, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(path))
        {
            throw new InvalidOperationException($"{InputSetting} is not set: it names the JSON file (under the data root) with the retraining pipeline's input.");
        }

        RetrainingPipelineInput? input;
        try
        {
            var file = dataRoot.Confine(path, InputSetting);
            await using var stream = File.OpenRead(file);
            input = await JsonSerializer.DeserializeAsync<RetrainingPipelineInput>(stream, Json, cancellationToken);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or JsonException or DataPathException)
        {
            throw new InvalidOperationException($"{InputSetting} '{path}' cannot be read as the retraining pipeline's input: {exception.Message}", exception);
        }

        return input is { Model.Length: > 0 }
            ? input
            : throw new InvalidOperationException($"{InputSetting} '{path}' holds no retraining pipeline input with a model.");
    }
}
