using Workflows.Durable.AzureStorage;

namespace Workflows.Bench;

internal enum EnginePattern
{
    FanOut,
    Sequence,
}

/// <summary>Options of the <c>engine</c> scenario.</summary>
internal sealed record EngineOptions(string Backend, EnginePattern Pattern, IReadOnlyList<int> Counts, int Repeat)
{
    public string PatternName => Pattern == EnginePattern.FanOut ? "fanout" : "sequence";

    public static EngineOptions From(BenchArgs args)
    {
        args.AllowOnly("backend", "pattern", "count", "repeat");
        var backend = args.GetString("backend", "memory").ToUpperInvariant() switch
        {
            "MEMORY" => "memory",
            _ => throw new UsageException($"unknown backend '{args.GetString("backend")}' (available: memory, azurite)."),
        };
        var pattern = args.GetString("pattern").ToUpperInvariant() switch
        {
            "FANOUT" => EnginePattern.FanOut,
            "SEQUENCE" => EnginePattern.Sequence,
            _ => throw new UsageException($"unknown pattern '{args.GetString("pattern")}' (available: fanout, sequence)."),
        };
        return new EngineOptions(backend, pattern, args.GetIntList("count", min: 1), args.GetInt("repeat", 3, min: 1));
    }
}

/// <summary>
/// Options of the <c>engine</c> scenario on <c>--backend azurite</c>: one fan-out and one sequence run per repeat,
/// the idle cost and Azurite's raw throughput, all against one Azurite process.
/// </summary>
internal sealed record AzuriteOptions(int FanOutCount, int SequenceCount, int Repeat, int IdleSeconds, int Partitions)
{
    public static bool IsSelected(BenchArgs args) =>
        string.Equals(args.GetString("backend", "memory"), "azurite", StringComparison.OrdinalIgnoreCase);

    public static AzuriteOptions From(BenchArgs args)
    {
        args.AllowOnly("backend", "fanout-count", "sequence-count", "repeat", "idle-seconds", "partitions");
        var partitions = args.GetInt("partitions", 4, min: 1);
        if (partitions > AzureStorageOptions.MaxPartitionCount)
        {
            throw new UsageException($"option --partitions: {partitions} is more than {AzureStorageOptions.MaxPartitionCount}.");
        }

        return new AzuriteOptions(
            args.GetInt("fanout-count", 1000, min: 1),
            args.GetInt("sequence-count", 100, min: 1),
            args.GetInt("repeat", 1, min: 1),
            args.GetInt("idle-seconds", 60, min: 1),
            partitions);
    }
}
