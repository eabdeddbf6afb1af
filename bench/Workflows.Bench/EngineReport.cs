using System.Text.Json;
using System.Text.Json.Serialization;

namespace Workflows.Bench;

/// <summary>Prints the engine scenario's table, the scaling line and, last, the one-line JSON summary.</summary>
internal static class EngineReport
{
    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public static void Print(EngineOptions options, IReadOnlyList<EngineResult> results)
    {
        Console.WriteLine();
        Console.WriteLine($"pattern {options.PatternName}, median of {options.Repeat} run(s) per count");
        Console.WriteLine(
            $"{"count",10} {"wall s",9} {"activities/s",13} {"µs/activity",12} {"history events",15} {"episodes",9} {"cache hits",11} {"misses",7} {"events replayed",16}");
        foreach (var r in results)
        {
            var m = r.Median;
            Console.WriteLine(
                $"{r.Count,10:N0} {r.WallSeconds,9:F3} {r.ActivitiesPerSecond,13:N0} {r.MicrosPerActivity,12:F1} {m.HistoryEvents,15:N0} {m.Episodes,9:N0} {m.CacheHits,11:N0} {m.CacheMisses,7:N0} {m.EventsReplayed,16:N0}");
        }

        var scaling = Scaling(results);
        if (scaling is not null)
        {
            Console.WriteLine();
            Console.WriteLine(
                $"scaling {scaling.FromCount:N0} -> {scaling.ToCount:N0}: count x{scaling.CountRatio:F1}, wall time x{scaling.WallRatio:F1} " +
                $"(linear = x{scaling.CountRatio:F1}); time per activity {scaling.PerActivityMicrosFrom:F1} µs -> {scaling.PerActivityMicrosTo:F1} µs");
        }

        var summary = new Summary(
            "engine",
            options.Backend,
            options.PatternName,
            options.Repeat,
            results.Select(r => new RunSummary(
                r.Count,
                Round(r.WallSeconds, 4),
                Round(r.ActivitiesPerSecond, 0),
                r.Median.HistoryEvents,
                r.Median.Episodes,
                r.Median.CacheHits,
                r.Median.CacheMisses,
                r.Median.EventsReplayed,
                r.Median.EventsApplied,
                r.AllWallSeconds.Select(s => Round(s, 4)).ToArray())).ToArray(),
            scaling,
            Environment.ProcessorCount);
        Console.WriteLine(JsonSerializer.Serialize(summary, JsonOptions));
    }

    /// <summary>Smallest against largest count: linear growth means the wall ratio is close to the count ratio.</summary>
    private static ScalingSummary? Scaling(IReadOnlyList<EngineResult> results)
    {
        if (results.Count < 2)
        {
            return null;
        }

        var from = results.MinBy(r => r.Count)!;
        var to = results.MaxBy(r => r.Count)!;
        return new ScalingSummary(
            from.Count,
            to.Count,
            Round((double)to.Count / from.Count, 3),
            Round(to.WallSeconds / from.WallSeconds, 3),
            Round(from.MicrosPerActivity, 2),
            Round(to.MicrosPerActivity, 2));
    }

    private static double Round(double value, int digits) => Math.Round(value, digits, MidpointRounding.AwayFromZero);

    private sealed record Summary(
        string Scenario,
        string Backend,
        string Pattern,
        int Repeat,
        IReadOnlyList<RunSummary> Runs,
        ScalingSummary? Scaling,
        int ProcessorCount);

    private sealed record RunSummary(
        int Count,
        double WallSeconds,
        double ActivitiesPerSecond,
        int HistoryEvents,
        long Episodes,
        long CacheHits,
        long CacheMisses,
        long EventsReplayed,
        long EventsApplied,
        IReadOnlyList<double> WallSecondsAllRuns);

    private sealed record ScalingSummary(
        int FromCount,
        int ToCount,
        double CountRatio,
        double WallRatio,
        double PerActivityMicrosFrom,
        double PerActivityMicrosTo);
}
