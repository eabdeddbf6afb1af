namespace Workflows.ML.Search.Asha;

/// <summary>
/// Everything ASHA decides from: each trial's entry at each rung it reached. Immutable (every change returns a new
/// table) and plain data, so an orchestrator can keep it in its state or history as JSON.
/// </summary>
/// <param name="Entries">The entries, in the order they were recorded.</param>
public sealed record RungTable(IReadOnlyList<RungEntry> Entries)
{
    /// <summary>The table before any trial.</summary>
    public static RungTable Empty { get; } = new([]);

    /// <summary>Trials started so far (trials are numbered 0, 1, 2, … in start order).</summary>
    public int TrialCount => Entries.Count(entry => entry.Rung == 0);

    /// <summary>Entries still running (no score yet).</summary>
    public int Running => Entries.Count(entry => entry.Score is null);

    /// <summary>This table with <paramref name="job"/>'s entry added as running; a <see cref="AshaJobKind.None"/> job changes nothing.</summary>
    public RungTable Begin(AshaJob job)
    {
        ArgumentNullException.ThrowIfNull(job);
        if (job.Kind == AshaJobKind.None)
        {
            return this;
        }

        if (Find(job.Trial, job.Rung) is not null)
        {
            throw new InvalidOperationException($"Trial {job.Trial} already has an entry at rung {job.Rung}.");
        }

        return new RungTable([.. Entries, new RungEntry(job.Trial, job.Bracket, job.Rung, job.Resource)]);
    }

    /// <summary>This table with the score (and checkpoint) of trial <paramref name="trial"/> at rung <paramref name="rung"/> recorded.</summary>
    public RungTable Complete(int trial, int rung, double score, string? checkpoint = null)
    {
        var entry = Find(trial, rung) ?? throw new InvalidOperationException($"Trial {trial} has no entry at rung {rung} to complete.");
        if (entry.Score is not null)
        {
            throw new InvalidOperationException($"Trial {trial} at rung {rung} is already complete (score {entry.Score}).");
        }

        return new RungTable([.. Entries.Select(e => ReferenceEquals(e, entry) ? e with { Score = score, Checkpoint = checkpoint } : e)]);
    }

    /// <summary>The entry of <paramref name="trial"/> at <paramref name="rung"/>, or null.</summary>
    public RungEntry? Find(int trial, int rung) => Entries.FirstOrDefault(entry => entry.Trial == trial && entry.Rung == rung);
}
