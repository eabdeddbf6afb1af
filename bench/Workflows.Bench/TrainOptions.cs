using System.Globalization;

namespace Workflows.Bench;

/// <summary>
/// Options of the <c>train</c> scenario; the defaults are the training target's shape (1,000,000 × 100, 20 informative, 100 chunks,
/// 3 epochs, K = 1). <see cref="CacheMegabytes"/> is the durable worker's decoded-chunk cache; -1 sizes it to hold the
/// training set and the holdout.
/// </summary>
internal sealed record TrainOptions(
    int Rows,
    int Features,
    int Informative,
    int Chunks,
    int Epochs,
    int HoldoutRows,
    int BatchSize,
    float LearningRate,
    int Workers,
    int CacheMegabytes,
    bool Baseline,
    ulong Seed)
{
    public static TrainOptions From(BenchArgs args)
    {
        args.AllowOnly("rows", "features", "informative", "chunks", "epochs", "holdout-rows", "batch-size", "learning-rate", "workers", "cache-mb", "baseline", "seed");
        var features = args.GetInt("features", 100, min: 1);
        var informative = args.GetInt("informative", Math.Min(20, features), min: 1);
        if (informative > features)
        {
            throw new UsageException($"option --informative: {informative} is more than --features {features}.");
        }

        var rows = args.GetInt("rows", 1_000_000, min: 2);
        var chunks = args.GetInt("chunks", 100, min: 1);
        if (chunks > rows)
        {
            throw new UsageException($"option --chunks: {chunks} is more than --rows {rows}.");
        }

        return new TrainOptions(
            rows,
            features,
            informative,
            chunks,
            args.GetInt("epochs", 3, min: 1),
            args.GetInt("holdout-rows", 100_000, min: 2),
            args.GetInt("batch-size", 32, min: 1),
            ParseFloat(args, "learning-rate", 0.5f),
            args.GetInt("workers", 1, min: 1),
            args.GetInt("cache-mb", -1, min: -1),
            args.GetString("baseline", "on").ToUpperInvariant() switch
            {
                "ON" => true,
                "OFF" => false,
                _ => throw new UsageException("option --baseline: use on or off."),
            },
            (ulong)args.GetInt("seed", 42, min: 0));
    }

    private static float ParseFloat(BenchArgs args, string name, float defaultValue)
    {
        var text = args.GetString(name, defaultValue.ToString(CultureInfo.InvariantCulture));
        return float.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && value > 0 && float.IsFinite(value)
            ? value
            : throw new UsageException($"option --{name}: '{text}' is not a positive number.");
    }
}
