using System.Diagnostics;
using System.Text.Json;
using Spectre.Console;

namespace Workflows.Cli;

/// <summary>
/// Polls an instance's status until it finishes (<c>start-new --wait</c>), showing its <c>customStatus</c>: a live
/// Spectre progress display on a terminal, one line per change of status otherwise.
/// </summary>
internal static class InstanceWaiter
{
    private static readonly TimeSpan FirstPoll = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan LongestPoll = TimeSpan.FromSeconds(1);

    public static async Task<int> WaitAsync(CliContext context, string instanceId, TimeSpan? timeout, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        ApiAnswer answer;
        if (context.Interactive && !context.Json)
        {
            answer = null!;
            await context.Console.Progress()
                .AutoClear(false)
                .Columns(new SpinnerColumn(), new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
                .StartAsync(async progress =>
                {
                    var task = progress.AddTask(Markup.Escape(instanceId), maxValue: 100);
                    task.IsIndeterminate = true;
                    answer = await PollAsync(context, instanceId, timeout, clock, (runtimeStatus, status) =>
                    {
                        task.Description = Markup.Escape(Shorten($"{instanceId} {runtimeStatus} {status.Text}", 70));
                        task.IsIndeterminate = status.Fraction is null;
                        task.Value = (status.Fraction ?? 0) * 100;
                    }, cancellationToken);
                    task.Value = task.MaxValue;
                    task.StopTask();
                });
        }
        else
        {
            string? last = null;
            answer = await PollAsync(context, instanceId, timeout, clock, (runtimeStatus, status) =>
            {
                var line = status.Text.Length == 0 ? runtimeStatus : $"{runtimeStatus}: {status}";
                if (!context.Json && line != last)
                {
                    context.Out.WriteLine(line);
                    last = line;
                }
            }, cancellationToken);
        }

        var final = answer.Json();
        var finalStatus = Views.Text(final, "runtimeStatus");
        if (context.Json)
        {
            context.Out.WriteLine(answer.Body);
        }
        else
        {
            Views.Status(context.Console, final, showInput: false, showOutput: true);
        }

        if (finalStatus == "Completed")
        {
            return ExitCodes.Success;
        }

        context.Error.WriteLine($"durable: instance '{instanceId}' {finalStatus}: {Views.Text(final, "output")}");
        return ExitCodes.NotCompleted;
    }

    private static async Task<ApiAnswer> PollAsync(
        CliContext context, string instanceId, TimeSpan? timeout, Stopwatch clock, Action<string, StatusProgress> report, CancellationToken cancellationToken)
    {
        var delay = FirstPoll;
        while (true)
        {
            var answer = await context.Backend.GetAsync(instanceId, showInput: false, showHistory: false, cancellationToken);
            var status = answer.Json();
            var runtimeStatus = Views.Text(status, "runtimeStatus");
            report(runtimeStatus, StatusProgress.From(status.TryGetProperty("customStatus", out var custom) ? custom : default));
            if (IsFinished(runtimeStatus))
            {
                return answer;
            }

            if (timeout is { } limit && clock.Elapsed >= limit)
            {
                throw new CliException(
                    ExitCodes.WaitTimedOut,
                    $"instance '{instanceId}' is still {runtimeStatus} after {limit.TotalSeconds:0} s; it goes on running (durable get-runtime-status --id {instanceId})");
            }

            var pause = timeout is { } total && total - clock.Elapsed < delay ? total - clock.Elapsed : delay;
            await Task.Delay(pause > TimeSpan.Zero ? pause : TimeSpan.Zero, cancellationToken);
            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, LongestPoll.Ticks));
        }
    }

    private static bool IsFinished(string runtimeStatus) => runtimeStatus is "Completed" or "Failed" or "Terminated" or "Canceled";

    private static string Shorten(string text, int length) => text.Length <= length ? text : text[..(length - 1)] + "…";
}
