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
            _ => throw new UsageException(
                $"unknown backend '{args.GetString("backend")}': only 'memory' exists for now (the Azure Storage backend comes later)."),
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
