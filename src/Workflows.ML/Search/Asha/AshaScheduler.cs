namespace Workflows.ML.Search.Asha;

/// <summary>
/// ASHA's decisions as pure functions of the rung table (Li et al., MLSys 2020, Algorithm 2): a free worker never
/// waits for a round to finish. <see cref="NextJob"/> promotes a trial when one qualifies, and starts a new trial
/// otherwise.
/// </summary>
public static class AshaScheduler
{
    /// <summary>
    /// The next job. Looks at the rungs from the highest resource down (over all brackets, the lower bracket first on
    /// equal resource); at rung <c>k</c> (below its bracket's top) the candidates are the top
    /// <c>floor(n / η)</c> of the <c>n</c> scores recorded there (higher score first, ties to the lower trial, NaN
    /// last); the first of them with no entry at rung <c>k + 1</c> is promoted. With none, a new trial starts — trial
    /// <c>TrialCount</c> at rung 0 of bracket <c>trial mod Brackets</c> — unless <see cref="AshaOptions.MaxTrials"/>
    /// are started, when the job is <see cref="AshaJobKind.None"/>. The table is checked first: an entry that does
    /// not fit the options throws <see cref="ArgumentException"/>.
    /// </summary>
    public static AshaJob NextJob(RungTable table, AshaOptions options)
    {
        ArgumentNullException.ThrowIfNull(table);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Check(table, options);

        var levels = new List<(int Level, int Bracket, int Rung)>();
        for (var bracket = 0; bracket < options.Brackets; bracket++)
        {
            for (var rung = 0; rung < options.TopRung(bracket); rung++)
            {
                levels.Add((bracket + rung, bracket, rung));
            }
        }

        foreach (var (_, bracket, rung) in levels.OrderByDescending(l => l.Level).ThenBy(l => l.Bracket))
        {
            var scored = table.Entries.Where(e => e.Bracket == bracket && e.Rung == rung && e.Score is not null).ToList();
            var top = scored.Order(BestFirst).Take(scored.Count / options.Factor);
            var promotable = top.FirstOrDefault(e => table.Find(e.Trial, rung + 1) is null);
            if (promotable is not null)
            {
                return new AshaJob(AshaJobKind.Promote, promotable.Trial, bracket, rung + 1, options.ResourceAt(bracket, rung + 1), promotable.Checkpoint);
            }
        }

        var trial = table.TrialCount;
        if (options.MaxTrials is { } max && trial >= max)
        {
            return AshaJob.Nothing;
        }

        var newBracket = options.BracketOf(trial);
        return new AshaJob(AshaJobKind.Start, trial, newBracket, 0, options.ResourceAt(newBracket, 0));
    }

    /// <summary>True when nothing runs and <see cref="NextJob"/> has nothing to hand out: the search is over.</summary>
    public static bool IsFinished(RungTable table, AshaOptions options)
    {
        ArgumentNullException.ThrowIfNull(table);
        return table.Running == 0 && NextJob(table, options).Kind == AshaJobKind.None;
    }

    /// <summary>
    /// The best scored entry: the highest resource reached by a scored trial, and there the best score (ties to the
    /// lower trial); null when nothing is scored.
    /// </summary>
    public static RungEntry? Best(RungTable table)
    {
        ArgumentNullException.ThrowIfNull(table);
        return table.Entries.Where(e => e.Score is not null)
            .OrderByDescending(e => e.Resource)
            .ThenBy(e => e, BestFirst)
            .FirstOrDefault();
    }

    /// <summary>Higher score first, NaN after all numbers, then the lower trial.</summary>
    private static IComparer<RungEntry> BestFirst { get; } = Comparer<RungEntry>.Create((a, b) =>
    {
        var byScore = ScoreOrder.BestFirst(a.Score!.Value, b.Score!.Value);
        return byScore != 0 ? byScore : a.Trial.CompareTo(b.Trial);
    });

    private static void Check(RungTable table, AshaOptions options)
    {
        var starts = new HashSet<int>();
        var keys = new HashSet<(int, int)>();
        foreach (var e in table.Entries)
        {
            if (e.Trial < 0 || e.Bracket != options.BracketOf(e.Trial) || e.Rung < 0 || e.Rung > options.TopRung(e.Bracket)
                || e.Resource != options.ResourceAt(e.Bracket, e.Rung))
            {
                throw new ArgumentException(
                    $"Rung entry {e} does not fit the options: trial {e.Trial} belongs to bracket {options.BracketOf(Math.Max(0, e.Trial))}, rungs 0..{options.TopRung(options.BracketOf(Math.Max(0, e.Trial)))}.");
            }

            if (!keys.Add((e.Trial, e.Rung)))
            {
                throw new ArgumentException($"Trial {e.Trial} has two entries at rung {e.Rung}.");
            }

            if (e.Rung == 0)
            {
                starts.Add(e.Trial);
            }
        }

        foreach (var e in table.Entries)
        {
            if (e.Trial >= starts.Count || !starts.Contains(e.Trial))
            {
                throw new ArgumentException($"Trial {e.Trial} is in the table, but trials must be started 0, 1, 2, … ({starts.Count} started).");
            }

            if (e.Rung > 0 && table.Find(e.Trial, e.Rung - 1) is not { Score: not null })
            {
                throw new ArgumentException($"Trial {e.Trial} is at rung {e.Rung} without a score at rung {e.Rung - 1}.");
            }
        }
    }
}
