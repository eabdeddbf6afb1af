using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Logging;

namespace Workflows.Host.TestWorkerApp;

/// <summary>The functions the worker-channel tests invoke: one per trigger kind, one that throws, one that kills its worker.</summary>
public sealed class TestFunctions(ILogger<TestFunctions> logger)
{
    /// <summary>The input that makes <see cref="Crash"/> end its own process.</summary>
    public const string CrashInput = "crash";

    /// <summary>An activity: its input upper-cased.</summary>
    [Function(nameof(Uppercase))]
    public string Uppercase([ActivityTrigger] string input)
    {
        logger.LogInformation("Uppercasing {Length} characters", input.Length);
        return input.ToUpperInvariant();
    }

    /// <summary>An activity that always fails, naming its input.</summary>
    [Function(nameof(Throw))]
    public static string Throw([ActivityTrigger] string input) =>
        throw new InvalidOperationException("Throw was asked to fail: " + input);

    /// <summary>An activity that ends its own process when its input is <see cref="CrashInput"/>, and echoes its input otherwise.</summary>
    [Function(nameof(Crash))]
    public static string Crash([ActivityTrigger] string input)
    {
        if (input == CrashInput)
        {
            Environment.FailFast("Crash was asked to end the worker process.");
        }

        return input;
    }

    /// <summary>
    /// An activity that ends its own process the first time it runs for a marker file (it creates the file first), and
    /// returns the worker's process id every later time.
    /// </summary>
    [Function(nameof(CrashOnce))]
    public static string CrashOnce([ActivityTrigger] string markerFile)
    {
        if (!File.Exists(markerFile))
        {
            File.WriteAllText(markerFile, Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
            Environment.FailFast("CrashOnce ends the worker process the first time.");
        }

        return Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// An activity that returns its value; when asked to wait, it first marks the folder (<c>waiting</c>) and waits
    /// until the folder's gate (<c>open</c>) exists.
    /// </summary>
    [Function(nameof(Gated))]
    public static async Task<int> Gated([ActivityTrigger] GatedInput input, FunctionContext context)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(context);
        if (input.Wait)
        {
            await File.WriteAllTextAsync(Path.Combine(input.Folder, "waiting"), Environment.ProcessId.ToString(CultureInfo.InvariantCulture), context.CancellationToken);
            while (!File.Exists(Path.Combine(input.Folder, "open")))
            {
                await Task.Delay(20, context.CancellationToken);
            }
        }

        return input.Value;
    }

    /// <summary>An activity: the value of the environment variable (app setting) its input names, or null.</summary>
    [Function(nameof(Setting))]
    public static string? Setting([ActivityTrigger] string name) => Environment.GetEnvironmentVariable(name);

    /// <summary>An activity with an object input and an object output.</summary>
    [Function(nameof(Measure))]
    public static Measurement Measure([ActivityTrigger] MeasureInput input) =>
        new(input.Text.Length, input.Text.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length * input.Weight);

    /// <summary>An activity that waits until the host cancels its invocation, logging when it starts and when it is cancelled.</summary>
    [Function(nameof(WaitForCancel))]
    public async Task<string> WaitForCancel([ActivityTrigger] string marker, FunctionContext context)
    {
        logger.LogInformation("Waiting: {Marker}", marker);
        try
        {
            await Task.Delay(Timeout.Infinite, context.CancellationToken);
        }
        catch (OperationCanceledException)
        {
            logger.LogInformation("Cancelled: {Marker}", marker);
            throw;
        }

        return marker;
    }

    /// <summary>An HTTP trigger.</summary>
    [Function(nameof(Hello))]
    public static IActionResult Hello([HttpTrigger(AuthorizationLevel.Anonymous, "get")] HttpRequest request) =>
        new OkObjectResult("Hello, " + (request.Query["name"].FirstOrDefault() ?? "world"));

    /// <summary>An HTTP trigger that answers with the request's method, host, path and body, and a route value.</summary>
    [Function(nameof(Echo))]
    public static async Task<IActionResult> Echo([HttpTrigger(AuthorizationLevel.Anonymous, "get", "post", Route = "echo/{item}")] HttpRequest request, string item)
    {
        ArgumentNullException.ThrowIfNull(request);
        using var reader = new StreamReader(request.Body);
        string body = await reader.ReadToEndAsync(request.HttpContext.RequestAborted);
        return new OkObjectResult(new { request.Method, Host = request.Host.Value, Path = request.Path.Value, Item = item, Body = body });
    }

    /// <summary>An HTTP trigger that always throws.</summary>
    [Function(nameof(Fail))]
    public static IActionResult Fail([HttpTrigger(AuthorizationLevel.Anonymous, "get")] HttpRequest request) =>
        throw new InvalidOperationException("Fail was asked to fail.");

    /// <summary>A timer trigger, every five minutes.</summary>
    [Function(nameof(Tick))]
    public void Tick([TimerTrigger("0 */5 * * * *")] TimerInfo timer) =>
        logger.LogInformation("Tick; past due: {PastDue}", timer.IsPastDue.ToString(CultureInfo.InvariantCulture));
}

/// <summary>The input of <see cref="TestFunctions.Gated"/>.</summary>
public sealed record GatedInput(string Folder, int Value, bool Wait);

/// <summary>The input of <see cref="TestFunctions.Measure"/>.</summary>
public sealed record MeasureInput(string Text, int Weight);

/// <summary>The output of <see cref="TestFunctions.Measure"/>.</summary>
public sealed record Measurement(int Length, int WeightedWords);
