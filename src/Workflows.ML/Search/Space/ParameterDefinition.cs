using System.Globalization;
using System.Text.Json.Serialization;

namespace Workflows.ML.Search.Space;

/// <summary>
/// One hyper-parameter of a search space, shaped for JSON:
/// <c>{"name": "learning_rate", "kind": "LogUniform", "min": 0.001, "max": 1}</c>,
/// <c>{"name": "max_depth", "kind": "IntRange", "min": 2, "max": 8}</c>,
/// <c>{"name": "schedule", "kind": "Choice", "choices": ["Constant", "Optimal"]}</c>.
/// </summary>
/// <param name="Name">The parameter's name, as the learner knows it.</param>
/// <param name="Kind">How values are drawn.</param>
/// <param name="Min">Lower bound (Uniform, LogUniform, IntRange).</param>
/// <param name="Max">Upper bound, included (Uniform, LogUniform, IntRange).</param>
/// <param name="Log">For IntRange: draw log-uniformly over the range (Min &gt;= 1).</param>
/// <param name="Choices">For Choice: the values, at least one.</param>
public sealed record ParameterDefinition(
    string Name,
    [property: JsonConverter(typeof(JsonStringEnumConverter<ParameterKind>))] ParameterKind Kind,
    double? Min = null,
    double? Max = null,
    bool Log = false,
    IReadOnlyList<ParameterValue>? Choices = null)
{
    /// <summary>Throws <see cref="ArgumentException"/> naming this parameter when the definition cannot be sampled.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Name))
        {
            throw new ArgumentException("A search-space parameter has no name.");
        }

        switch (Kind)
        {
            case ParameterKind.Uniform:
            case ParameterKind.LogUniform:
            case ParameterKind.IntRange:
                ValidateRange();
                break;
            case ParameterKind.Choice:
                Require(Choices is { Count: > 0 }, "a choice needs at least one value");
                Require(Min is null && Max is null && !Log, "a choice takes no min, max or log");
                break;
            default:
                throw Invalid($"unknown kind {Kind}");
        }
    }

    private void ValidateRange()
    {
        Require(Min is { } min && double.IsFinite(min) && Max is { } max && double.IsFinite(max), "min and max must both be given as finite numbers");
        Require(Choices is null, $"a {Kind} parameter takes no choices");
        var (low, high) = (Min!.Value, Max!.Value);
        Require(low <= high, $"min ({Format(low)}) is greater than max ({Format(high)})");
        Require(!Log || Kind == ParameterKind.IntRange, $"log applies to IntRange parameters only (use LogUniform for real numbers)");
        if (Kind == ParameterKind.IntRange)
        {
            Require(low == Math.Floor(low) && high == Math.Floor(high), $"an IntRange needs whole bounds (was {Format(low)}..{Format(high)})");
            Require(low >= int.MinValue && high <= int.MaxValue, "an IntRange must lie within 32-bit integers");
        }

        if (Kind == ParameterKind.LogUniform || Log)
        {
            Require(low > 0, $"a log range needs min > 0 (was {Format(low)})");
        }
    }

    private void Require(bool condition, string message)
    {
        if (!condition)
        {
            throw Invalid(message);
        }
    }

    private ArgumentException Invalid(string message) => new($"Search-space parameter '{Name}': {message}.");

    private static string Format(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}
