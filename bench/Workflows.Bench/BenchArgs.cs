using System.Globalization;

namespace Workflows.Bench;

/// <summary>Thrown for a bad command line; Program prints the message and exits with code 2.</summary>
internal sealed class UsageException(string message) : Exception(message);

/// <summary>The parsed command line: a scenario name followed by <c>--name value</c> options.</summary>
internal sealed class BenchArgs
{
    public const string Usage =
        "usage: Workflows.Bench engine --backend memory [--count N] [--sequence-count N] [--repeat R] [--extended-sessions on|off] [--activity-lock on|off]\n"
        + "       Workflows.Bench engine --backend azurite [--backends dtfx-azurestorage,workflows-taskhub] [--count N] [--sequence-count N] [--repeat R] [--partitions P] [--extended-sessions on|off] [--idle-seconds S]\n"
        + "       Workflows.Bench engine --path worker [--backend azurite|memory] [--count N] [--sequence-count N] [--repeat R] [--partitions P]\n"
        + "       Workflows.Bench http-start [--backend azurite|memory] [--count N] [--concurrency C]\n"
        + "       Workflows.Bench dashboard [--instances N] [--fan-out N] [--repeat R] [--concurrency C]\n"
        + "       Workflows.Bench train [--rows N] [--features F] [--informative I] [--chunks C] [--epochs E] [--holdout-rows H] [--batch-size B] [--learning-rate R] [--workers K] [--cache-mb M] [--baseline on|off] [--seed S]\n"
        + "       Workflows.Bench halving [--rows N] [--features F] [--candidates C] [--folds K] [--seed S] [--workers W] [--resource n_samples|n_estimators] [--learners gradient_boosting,lightgbm] [--searches random,halving-f2,halving-f3,halving-f4,asha-f3] [--min-resources exhaust|N]\n"
        + "       Workflows.Bench canary-load [--concurrency C] [--step-seconds S] [--warm-up S]\n"
        + "       Workflows.Bench serve [--concurrency C] [--seconds S] [--warm-up S] [--batch-rows N] [--trees T] [--sample-rows N]\n"
        + "       Workflows.Bench stats [--rows N] [--features F] [--chunks C] [--repeat R] [--kernel-rows N] [--chunks-per-activity K] [--cache-mb M]";

    private readonly Dictionary<string, string> _options;

    private BenchArgs(string scenario, Dictionary<string, string> options)
    {
        Scenario = scenario;
        _options = options;
    }

    public string Scenario { get; }

    public static BenchArgs Parse(string[] args)
    {
        if (args.Length == 0 || args[0].StartsWith('-'))
        {
            throw new UsageException("missing scenario (available: canary-load, dashboard, engine, halving, http-start, serve, stats, train).");
        }

        var options = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        for (var i = 1; i < args.Length; i++)
        {
            var name = args[i];
            if (!name.StartsWith("--", StringComparison.Ordinal) || name.Length == 2)
            {
                throw new UsageException($"unexpected argument '{name}'; options look like --name value.");
            }

            if (i + 1 >= args.Length || args[i + 1].StartsWith("--", StringComparison.Ordinal))
            {
                throw new UsageException($"option '{name}' needs a value.");
            }

            if (!options.TryAdd(name[2..], args[++i]))
            {
                throw new UsageException($"option '{name}' was given twice.");
            }
        }

        return new BenchArgs(args[0], options);
    }

    /// <summary>Fails on options the scenario does not know, so typos do not silently fall back to defaults.</summary>
    public void AllowOnly(params string[] names)
    {
        foreach (var name in _options.Keys)
        {
            if (!names.Contains(name, StringComparer.OrdinalIgnoreCase))
            {
                throw new UsageException($"unknown option '--{name}' for scenario '{Scenario}' (known: {string.Join(", ", names.Select(n => "--" + n))}).");
            }
        }
    }

    public string GetString(string name, string? defaultValue = null) =>
        _options.TryGetValue(name, out var value) ? value
        : defaultValue ?? throw new UsageException($"missing option --{name}.");

    public int GetInt(string name, int defaultValue, int min)
    {
        if (!_options.TryGetValue(name, out var text))
        {
            return defaultValue;
        }

        return ParseInt(name, text, min);
    }

    /// <summary>A comma-separated list of integers, e.g. <c>--count 1000,10000</c>.</summary>
    public IReadOnlyList<int> GetIntList(string name, int min)
    {
        var text = GetString(name);
        var values = new List<int>();
        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            values.Add(ParseInt(name, part, min));
        }

        return values.Count > 0 ? values : throw new UsageException($"option --{name} needs at least one value.");
    }

    private static int ParseInt(string name, string text, int min) =>
        int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) && value >= min
            ? value
            : throw new UsageException($"option --{name}: '{text}' is not an integer >= {min}.");
}
