using System.Globalization;
using System.Text.Json.Serialization;

namespace Workflows.ML.Search.Halving;

/// <summary>
/// The settings of a successive-halving search, as scikit-learn's <c>HalvingRandomSearchCV</c> names them.
/// JSON: <c>{"maxResources": 1000, "factor": 3, "minResources": "smallest", "nCandidates": "exhaust"}</c>; the
/// two union settings take a name or an integer.
/// </summary>
/// <param name="MaxResources">The most resource a candidate may get (scikit-learn's <c>'auto'</c> is the dataset's row count: pass it).</param>
/// <param name="Factor">Candidates kept per round are 1/factor of the round's; resources grow by factor. At least 2.</param>
/// <param name="MinResources"><c>"smallest"</c>, <c>"exhaust"</c> or a positive integer.</param>
/// <param name="NCandidates"><c>"exhaust"</c> or a positive integer: how many candidates the first round evaluates.</param>
/// <param name="AggressiveElimination">Replay the first round's resources until few enough candidates remain for the last round to evaluate at most <paramref name="Factor"/>.</param>
/// <param name="Resource">What the resource is; <c>"smallest"</c> means <c>2 · n_splits · n_classes</c> for <see cref="ResourceKind.NSamples"/> and 1 otherwise.</param>
public sealed record HalvingOptions(
    int MaxResources,
    double Factor = 3,
    [property: JsonConverter(typeof(NumberOrNameJsonConverter))] string MinResources = HalvingOptions.Smallest,
    [property: JsonConverter(typeof(NumberOrNameJsonConverter))] string NCandidates = HalvingOptions.Exhaust,
    bool AggressiveElimination = false,
    [property: JsonConverter(typeof(JsonStringEnumConverter<ResourceKind>))] ResourceKind Resource = ResourceKind.NSamples)
{
    /// <summary>The name of the smallest sensible minimum resource.</summary>
    public const string Smallest = "smallest";

    /// <summary>The name of "as many as the budget allows".</summary>
    public const string Exhaust = "exhaust";

    /// <summary>
    /// Throws <see cref="ArgumentException"/> for a factor below 2 (or not finite), a max below 1, a setting that is
    /// neither its names nor a positive integer, or both settings at <c>"exhaust"</c> (each needs the other's value).
    /// </summary>
    public void Validate()
    {
        if (!double.IsFinite(Factor) || Factor < 2)
        {
            throw new ArgumentException($"Successive halving needs factor >= 2 (was {Factor.ToString(CultureInfo.InvariantCulture)}).");
        }

        if (MaxResources < 1)
        {
            throw new ArgumentException($"max_resources must be at least 1 (was {MaxResources}).");
        }

        _ = Search.Resource.NameOf(Resource);
        _ = FixedMinResources;
        _ = FixedCandidates;
        if (MinResources == Exhaust && NCandidates == Exhaust)
        {
            throw new ArgumentException("n_candidates and min_resources cannot both be 'exhaust': each needs the other's value.");
        }
    }

    /// <summary>The integer <see cref="MinResources"/>, or null for a name.</summary>
    [JsonIgnore]
    public int? FixedMinResources => ParseSetting(MinResources, "min_resources", Smallest, Exhaust);

    /// <summary>The integer <see cref="NCandidates"/>, or null for <c>"exhaust"</c>.</summary>
    [JsonIgnore]
    public int? FixedCandidates => ParseSetting(NCandidates, "n_candidates", Exhaust);

    private static int? ParseSetting(string value, string name, params string[] names)
    {
        if (names.Contains(value, StringComparer.Ordinal))
        {
            return null;
        }

        if (int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var number) && number >= 1)
        {
            return number;
        }

        throw new ArgumentException($"{name} must be {string.Join(", ", names.Select(n => $"'{n}'"))} or a positive integer (was '{value}').");
    }
}
