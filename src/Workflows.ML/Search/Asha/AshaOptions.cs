namespace Workflows.ML.Search.Asha;

/// <summary>
/// The settings of asynchronous successive halving (ASHA; Li et al., "A System for Massively Parallel
/// Hyperparameter Tuning", MLSys 2020). Rung <c>k</c> of bracket <c>s</c> trains with
/// <c>MinResource · Factor^(s + k)</c>; the rungs stop at the last such resource that is at most
/// <see cref="MaxResource"/>.
/// </summary>
/// <param name="MinResource">Resource of rung 0 of bracket 0 (the paper's <c>r</c>), at least 1.</param>
/// <param name="MaxResource">The most resource a trial may get (the paper's <c>R</c>), at least <paramref name="MinResource"/>.</param>
/// <param name="Factor">Reduction factor (the paper's <c>η</c>), at least 2.</param>
/// <param name="Brackets">Hyperband-style brackets run side by side, <c>s = 0 … Brackets − 1</c>; bracket <c>s</c> starts its trials at rung resource <c>r · η^s</c>. 1 is plain ASHA. At most <see cref="MaxBrackets"/>.</param>
/// <param name="MaxTrials">How many trials to start in all; null for no limit (the orchestrator stops when its budget is spent).</param>
public sealed record AshaOptions(int MinResource, int MaxResource, int Factor = 3, int Brackets = 1, int? MaxTrials = null)
{
    /// <summary>Rungs of bracket 0: the number of <c>k &gt;= 0</c> with <c>r · η^k &lt;= R</c> (the paper's <c>s_max + 1</c>).</summary>
    public int RungCount
    {
        get
        {
            var count = 1;
            for (long resource = (long)MinResource * Factor; resource <= MaxResource; resource *= Factor)
            {
                count++;
            }

            return count;
        }
    }

    /// <summary>The most brackets these resources allow: one per rung of bracket 0.</summary>
    public int MaxBrackets => RungCount;

    /// <summary>Throws <see cref="ArgumentException"/> for a factor below 2, resources below 1 or min &gt; max, or brackets out of 1..<see cref="MaxBrackets"/>.</summary>
    public void Validate()
    {
        Require(Factor >= 2, $"ASHA needs factor >= 2 (was {Factor}).");
        Require(MinResource >= 1, $"ASHA's min resource must be at least 1 (was {MinResource}).");
        Require(MinResource <= MaxResource, $"ASHA's min resource ({MinResource}) is greater than its max resource ({MaxResource}).");
        Require(Brackets >= 1 && Brackets <= MaxBrackets, $"ASHA's brackets must be 1..{MaxBrackets} for resources {MinResource}..{MaxResource} and factor {Factor} (was {Brackets}).");
        Require(MaxTrials is null or >= 1, $"ASHA's max trials must be at least 1 (was {MaxTrials}).");
    }

    /// <summary>The bracket trial <paramref name="trial"/> belongs to: <c>trial mod Brackets</c>, round-robin over the brackets.</summary>
    public int BracketOf(int trial) => trial % Brackets;

    /// <summary>The top rung of bracket <paramref name="bracket"/> (trials there are never promoted).</summary>
    public int TopRung(int bracket) => RungCount - 1 - bracket;

    /// <summary>Resource of rung <paramref name="rung"/> of bracket <paramref name="bracket"/>: <c>r · η^(bracket + rung)</c>.</summary>
    public int ResourceAt(int bracket, int rung)
    {
        if (bracket < 0 || bracket >= Brackets || rung < 0 || rung > TopRung(bracket))
        {
            throw new ArgumentOutOfRangeException(nameof(rung), $"Bracket {bracket} has rungs 0..{TopRung(Math.Clamp(bracket, 0, Brackets - 1))} (brackets 0..{Brackets - 1}).");
        }

        long resource = MinResource;
        for (var i = 0; i < bracket + rung; i++)
        {
            resource *= Factor;
        }

        return (int)resource;
    }

    private static void Require(bool condition, string message)
    {
        if (!condition)
        {
            throw new ArgumentException(message);
        }
    }
}
