namespace Workflows.ML.Search.Asha;

/// <summary>A job for a free worker.</summary>
/// <param name="Kind">Start, promote, or nothing.</param>
/// <param name="Trial">The trial (its candidate index); -1 for <see cref="AshaJobKind.None"/>.</param>
/// <param name="Bracket">The trial's bracket.</param>
/// <param name="Rung">The rung to train to.</param>
/// <param name="Resource">The resource of that rung.</param>
/// <param name="ResumeFrom">For a promotion, the checkpoint the trial left at the rung below (null when it left none).</param>
public sealed record AshaJob(AshaJobKind Kind, int Trial, int Bracket, int Rung, int Resource, string? ResumeFrom = null)
{
    /// <summary>The job that says "nothing now".</summary>
    public static AshaJob Nothing { get; } = new(AshaJobKind.None, -1, -1, -1, 0);
}
