namespace Workflows.ML.Search.Asha;

/// <summary>
/// One trial at one rung: recorded when the job is handed out (<see cref="Score"/> null: running) and completed
/// with its score and checkpoint.
/// </summary>
/// <param name="Trial">The trial, which is also the index of its candidate in the sample.</param>
/// <param name="Bracket">Its bracket.</param>
/// <param name="Rung">The rung within the bracket, from 0.</param>
/// <param name="Resource">The resource trained with at this rung.</param>
/// <param name="Score">The validation score (higher is better), null while the job runs; NaN for a failed fit (ranked last).</param>
/// <param name="Checkpoint">Where the trial's state after this rung is stored (a blob name or file path), for a promotion to resume from; null when the learner does not resume.</param>
public sealed record RungEntry(int Trial, int Bracket, int Rung, int Resource, double? Score = null, string? Checkpoint = null);
