namespace Workflows.ML.Search.Space;

/// <summary>One sampled hyper-parameter setting.</summary>
/// <param name="Index">The candidate's index in the sample: with the seed it determines <paramref name="Parameters"/>.</param>
/// <param name="Parameters">Parameter name → value, in ordinal name order.</param>
public sealed record Candidate(int Index, IReadOnlyDictionary<string, ParameterValue> Parameters)
{
    /// <summary>The parameters as <c>{name: value, ...}</c> in name order, for logs and tables.</summary>
    public override string ToString() =>
        "{" + string.Join(", ", Parameters.OrderBy(pair => pair.Key, StringComparer.Ordinal).Select(pair => $"{pair.Key}: {pair.Value}")) + "}";
}
