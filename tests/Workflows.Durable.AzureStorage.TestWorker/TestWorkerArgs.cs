using System.Globalization;

namespace Workflows.Durable.AzureStorage.TestWorker;

/// <summary>
/// The command line: <c>worker --connection-string CS --hub NAME --journal PATH [--backend workflows|dtfx] [--partitions N]
/// [--lease-duration-s S] [--lease-renew-ms MS] [--lock-timeout-s S] [--activity-delay-ms MS] [--max-activities N] [--worker-id ID]
/// [--crash-at STEP | --freeze-at STEP] --crash-instance ID [--crash-commit N]]</c>.
/// </summary>
internal sealed record CrashPoint(CommitStep Step, string InstanceId, int Commit, bool Freeze);

internal sealed class TestWorkerArgs
{
    public const string WorkflowsBackend = "workflows";
    public const string DtfxBackend = "dtfx";

    public const string Usage =
        "usage: Workflows.Durable.AzureStorage.TestWorker worker --connection-string CS --hub NAME --journal PATH [--backend workflows|dtfx] [--partitions 4] "
        + "[--lease-duration-s 15] [--lease-renew-ms 1000] [--lock-timeout-s S] [--activity-delay-ms 5] [--max-activities 8] [--worker-id ID] "
        + "[--crash-at STEP | --freeze-at STEP] [--crash-instance ID] [--crash-commit 1]";

    private static readonly string[] Known =
        ["connection-string", "hub", "journal", "backend", "partitions", "lease-duration-s", "lease-renew-ms", "lock-timeout-s", "activity-delay-ms", "max-activities", "worker-id", "crash-at", "freeze-at", "crash-instance", "crash-commit"];

    public required string ConnectionString { get; init; }

    public required string Hub { get; init; }

    public required string JournalPath { get; init; }

    /// <summary>
    /// Which Azure Storage backend runs the hub: <see cref="WorkflowsBackend"/> (ours, <c>TaskHubOrchestrationService</c>,
    /// the default) or <see cref="DtfxBackend"/> (DTFx's <c>AzureStorageOrchestrationService</c>).
    /// </summary>
    public string Backend { get; init; } = WorkflowsBackend;

    public int Partitions { get; init; }

    public TimeSpan LeaseDuration { get; init; }

    public TimeSpan LeaseRenewInterval { get; init; }

    /// <summary>
    /// How long a received message stays invisible to other workers, so a killed worker's messages come back after
    /// it; null for the backend's default (ours: <c>AzureStorageOptions.MessageVisibilityTimeout</c>; DTFx: its queue
    /// visibility timeouts).
    /// </summary>
    public TimeSpan? LockTimeout { get; init; }

    public TimeSpan ActivityDelay { get; init; }

    public int MaxConcurrentActivities { get; init; }

    /// <summary>The worker's stable name: a restarted worker with the same name takes its own leases back at once.</summary>
    public string? WorkerId { get; init; }

    /// <summary>
    /// Where the process kills itself (SIGKILL) or freezes itself (SIGSTOP, until a SIGCONT): a commit step of one
    /// instance's n-th commit; null for never.
    /// </summary>
    public CrashPoint? CrashAt { get; init; }

    /// <summary>Parses the command line; throws <see cref="ArgumentException"/> with a readable message.</summary>
    public static TestWorkerArgs Parse(string[] args)
    {
        if (args.Length == 0 || args[0] != "worker")
        {
            throw new ArgumentException("the only mode is 'worker'.");
        }

        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 1; i < args.Length; i += 2)
        {
            var name = args[i];
            if (!name.StartsWith("--", StringComparison.Ordinal) || !Known.Contains(name[2..]))
            {
                throw new ArgumentException($"unknown option '{name}'.");
            }

            if (i + 1 >= args.Length)
            {
                throw new ArgumentException($"option '{name}' needs a value.");
            }

            options[name[2..]] = args[i + 1];
        }

        return new TestWorkerArgs
        {
            ConnectionString = Required(options, "connection-string"),
            Hub = Required(options, "hub"),
            JournalPath = Required(options, "journal"),
            Backend = options.GetValueOrDefault("backend", WorkflowsBackend) is WorkflowsBackend or DtfxBackend
                ? options.GetValueOrDefault("backend", WorkflowsBackend)
                : throw new ArgumentException($"--backend must be {WorkflowsBackend} or {DtfxBackend}; got '{options["backend"]}'."),
            Partitions = Int(options, "partitions", 4),
            LeaseDuration = TimeSpan.FromSeconds(Int(options, "lease-duration-s", 15)),
            LeaseRenewInterval = TimeSpan.FromMilliseconds(Int(options, "lease-renew-ms", 1000)),
            LockTimeout = options.ContainsKey("lock-timeout-s") ? TimeSpan.FromSeconds(Int(options, "lock-timeout-s", 0)) : null,
            ActivityDelay = TimeSpan.FromMilliseconds(Int(options, "activity-delay-ms", 5)),
            MaxConcurrentActivities = Int(options, "max-activities", 8),
            WorkerId = options.GetValueOrDefault("worker-id"),
            CrashAt = options.TryGetValue("crash-at", out var crash) ? Point(options, crash, freeze: false)
                : options.TryGetValue("freeze-at", out var freeze) ? Point(options, freeze, freeze: true)
                : null,
        };
    }

    private static CrashPoint Point(Dictionary<string, string> options, string step, bool freeze) => new(
        Enum.TryParse<CommitStep>(step, ignoreCase: false, out var parsed) && Enum.IsDefined(parsed)
            ? parsed
            : throw new ArgumentException($"a commit step must be one of {string.Join(", ", Enum.GetNames<CommitStep>())}; got '{step}'."),
        Required(options, "crash-instance"),
        Int(options, "crash-commit", 1),
        freeze);

    private static string Required(Dictionary<string, string> options, string name) =>
        options.TryGetValue(name, out var value) ? value : throw new ArgumentException($"missing option --{name}.");

    private static int Int(Dictionary<string, string> options, string name, int defaultValue)
    {
        if (!options.TryGetValue(name, out var text))
        {
            return defaultValue;
        }

        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw new ArgumentException($"option --{name} must be a non-negative whole number; got '{text}'.");
    }
}
