using Cronos;
using Microsoft.DurableTask.Client;

namespace Workflows.Host.Configuration;

/// <summary>
/// One purge rule of host.json's <c>workflows.retention.policies</c>: finished instances of <see cref="Orchestration"/>
/// (<c>*</c>: any) in one of <see cref="Statuses"/> go once they were created more than <see cref="MaxAge"/> ago.
/// </summary>
/// <param name="Orchestration">The orchestration's name (case-insensitive), or <c>*</c> for every name.</param>
/// <param name="Statuses">Terminal statuses only: Completed, Failed, Terminated.</param>
/// <param name="MaxAge">How long after its creation an instance is kept.</param>
internal sealed record RetentionPolicy(string Orchestration, IReadOnlyList<OrchestrationRuntimeStatus> Statuses, TimeSpan MaxAge)
{
    /// <summary>Any orchestration name.</summary>
    public const string AnyOrchestration = "*";

    /// <summary>The statuses a policy may name, and its default.</summary>
    public static readonly IReadOnlyList<OrchestrationRuntimeStatus> TerminalStatuses =
        [OrchestrationRuntimeStatus.Completed, OrchestrationRuntimeStatus.Failed, OrchestrationRuntimeStatus.Terminated];

    /// <summary>Whether the policy covers instances of orchestration <paramref name="name"/>.</summary>
    public bool Covers(string name) => Orchestration == AnyOrchestration || string.Equals(Orchestration, name, StringComparison.OrdinalIgnoreCase);

    /// <summary>The rule in words, for logs.</summary>
    public override string ToString() => $"{Orchestration} {string.Join('/', Statuses)} older than {MaxAge}";
}

/// <summary>
/// host.json's <c>workflows.retention</c>: the purge policies and the job that applies them, on its
/// <see cref="Schedule"/>, in batches of <see cref="BatchSize"/> instances with <see cref="BatchPause"/> between
/// batches. No policies, no job.
/// </summary>
internal sealed class RetentionOptions
{
    /// <summary>The job's schedule by default: at minute 0 of every hour.</summary>
    public const string DefaultSchedule = "0 0 * * * *";

    /// <summary>The most instances one batch reads and purges.</summary>
    public const int MaxBatchSize = 1_000;

    /// <summary>The longest pause between batches.</summary>
    public static readonly TimeSpan MaxBatchPause = TimeSpan.FromMinutes(1);

    public string ScheduleText { get; set; } = DefaultSchedule;

    public CronExpression Schedule { get; set; } = CronExpression.Parse(DefaultSchedule, CronFormat.IncludeSeconds);

    public int BatchSize { get; set; } = 100;

    public TimeSpan BatchPause { get; set; } = TimeSpan.FromSeconds(1);

    public IList<RetentionPolicy> Policies { get; } = [];
}
