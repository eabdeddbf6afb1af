namespace Workflows.ML.Search;

/// <summary>An amount of a resource: what one evaluation of a candidate may spend.</summary>
/// <param name="Kind">The resource.</param>
/// <param name="Amount">How much of it (rows, trees or epochs), at least 1.</param>
public sealed record Resource(ResourceKind Kind, int Amount)
{
    /// <summary>The scikit-learn name of the resource: <c>n_samples</c>, <c>n_estimators</c> or <c>epochs</c>.</summary>
    public static string NameOf(ResourceKind kind) => kind switch
    {
        ResourceKind.NSamples => "n_samples",
        ResourceKind.NEstimators => "n_estimators",
        ResourceKind.Epochs => "epochs",
        _ => throw new ArgumentException($"Unknown resource kind {kind}.", nameof(kind)),
    };

    /// <summary>Throws <see cref="ArgumentException"/> for an amount below 1 or an unknown kind.</summary>
    public void Validate()
    {
        _ = NameOf(Kind);
        if (Amount < 1)
        {
            throw new ArgumentException($"A {NameOf(Kind)} resource must be at least 1 (was {Amount}).");
        }
    }
}
