namespace Workflows.ML.Search.Splits;

/// <summary>One cross-validation fold: row indices to train on and to test on, each in ascending order.</summary>
/// <param name="Train">Rows to train on.</param>
/// <param name="Test">Rows to score.</param>
public sealed record Fold(IReadOnlyList<int> Train, IReadOnlyList<int> Test);
