using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;

namespace Workflows.Host.TestWorkerApp;

/// <summary>The orchestrations the durable tests run in the worker process.</summary>
public static class TestOrchestrations
{
    /// <summary>Upper-cases each of its input strings with <see cref="TestFunctions.Uppercase"/>, one after the other.</summary>
    [Function(nameof(UppercaseAll))]
    public static async Task<List<string>> UppercaseAll([OrchestrationTrigger] TaskOrchestrationContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var results = new List<string>();
        foreach (var text in context.GetInput<string[]>() ?? [])
        {
            results.Add(await context.CallActivityAsync<string>(nameof(TestFunctions.Uppercase), text));
        }

        context.SetCustomStatus(new { done = results.Count });
        return results;
    }

    /// <summary>Measures each input text in parallel (<see cref="TestFunctions.Measure"/>) and sums the lengths.</summary>
    [Function(nameof(MeasureAll))]
    public static async Task<int> MeasureAll([OrchestrationTrigger] TaskOrchestrationContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var texts = context.GetInput<string[]>() ?? [];
        var measured = await Task.WhenAll(texts.Select(text => context.CallActivityAsync<Measurement>(nameof(TestFunctions.Measure), new MeasureInput(text, 1))));
        return measured.Sum(measurement => measurement.Length);
    }

    /// <summary>
    /// Fans out <see cref="TestFunctions.Gated"/> over 0..count-1 in a folder: the first <c>Ungated</c> answer at once,
    /// the rest wait for the folder's gate; returns the sum of the answers.
    /// </summary>
    [Function(nameof(GatedFanOut))]
    public static async Task<int> GatedFanOut([OrchestrationTrigger] TaskOrchestrationContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var input = context.GetInput<GatedFanOutInput>() ?? throw new InvalidOperationException("GatedFanOut needs its input.");
        int[] answers = await Task.WhenAll(Enumerable.Range(0, input.Count)
            .Select(i => context.CallActivityAsync<int>(nameof(TestFunctions.Gated), new GatedInput(input.Folder, i, Wait: i >= input.Ungated))));
        return answers.Sum();
    }

    /// <summary>Calls <see cref="TestFunctions.Throw"/> and returns the failure it caught: its type and message.</summary>
    [Function(nameof(CatchThrow))]
    public static async Task<string> CatchThrow([OrchestrationTrigger] TaskOrchestrationContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        try
        {
            await context.CallActivityAsync<string>(nameof(TestFunctions.Throw), "on purpose");
            return "no failure";
        }
        catch (TaskFailedException exception)
        {
            return exception.FailureDetails.ErrorType + ": " + exception.FailureDetails.ErrorMessage;
        }
    }

    /// <summary>
    /// Starts <see cref="UppercaseAll"/> through the app's own durable client with the comma-separated <c>words</c> of
    /// the query, and answers with the instance id.
    /// </summary>
    [Function(nameof(StartUppercase))]
    public static async Task<IActionResult> StartUppercase(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post")] HttpRequest request,
        [DurableClient] DurableTaskClient client)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(client);
        string[] words = (request.Query["words"].FirstOrDefault() ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries);
        string id = await client.ScheduleNewOrchestrationInstanceAsync(nameof(UppercaseAll), words);
        return new OkObjectResult(new { id });
    }

    /// <summary>Calls <see cref="TestFunctions.CrashOnce"/> with its input (a marker file) and returns what it returned.</summary>
    [Function(nameof(SurviveCrash))]
    public static Task<string> SurviveCrash([OrchestrationTrigger] TaskOrchestrationContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.CallActivityAsync<string>(nameof(TestFunctions.CrashOnce), context.GetInput<string>());
    }
}

/// <summary>The input of <see cref="TestOrchestrations.GatedFanOut"/>.</summary>
public sealed record GatedFanOutInput(string Folder, int Count, int Ungated);
