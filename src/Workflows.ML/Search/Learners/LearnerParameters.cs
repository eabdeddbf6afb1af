using System.Globalization;
using Workflows.ML.Search.Space;

namespace Workflows.ML.Search.Learners;

/// <summary>Typed, checked reads of a learner's hyper-parameters: unknown names and out-of-range values are errors naming the parameter.</summary>
internal sealed class LearnerParameters
{
    private readonly string _learner;
    private readonly IReadOnlyDictionary<string, ParameterValue> _values;

    private LearnerParameters(string learner, IReadOnlyDictionary<string, ParameterValue> values)
    {
        _learner = learner;
        _values = values;
    }

    /// <summary>
    /// Checks that every name is one of <paramref name="known"/>, that the resource is one of
    /// <paramref name="resources"/>, and that no parameter is the resource itself.
    /// </summary>
    public static LearnerParameters Check(
        string learner, IReadOnlyDictionary<string, ParameterValue> values, IReadOnlyList<string> known, Resource resource, IReadOnlyList<ResourceKind> resources)
    {
        ArgumentNullException.ThrowIfNull(values);
        ArgumentNullException.ThrowIfNull(resource);
        resource.Validate();
        foreach (var name in values.Keys)
        {
            if (!known.Contains(name, StringComparer.Ordinal))
            {
                throw new ArgumentException($"Learner '{learner}' has no parameter '{name}'; it takes {string.Join(", ", known)}.");
            }
        }

        if (!resources.Contains(resource.Kind))
        {
            throw new ArgumentException(
                $"Learner '{learner}' cannot be budgeted on {Resource.NameOf(resource.Kind)}; it takes {string.Join(", ", resources.Select(Resource.NameOf))}.");
        }

        if (resource.Kind != ResourceKind.NSamples && values.ContainsKey(Resource.NameOf(resource.Kind)))
        {
            throw new ArgumentException($"Cannot use parameter {Resource.NameOf(resource.Kind)} as the resource since it is part of the searched parameters.");
        }

        return new LearnerParameters(learner, values);
    }

    /// <summary>A whole number in [<paramref name="min"/>, <paramref name="max"/>], or <paramref name="fallback"/> when absent.</summary>
    public int Int(string name, int fallback, int min, int max = int.MaxValue)
    {
        if (!_values.TryGetValue(name, out var value))
        {
            return fallback;
        }

        var number = value.AsInt(name);
        return number >= min && number <= max ? number : throw OutOfRange(name, number, min, max);
    }

    /// <summary>A number in (<paramref name="min"/>, <paramref name="max"/>] ([min, max] when <paramref name="minIncluded"/>), or <paramref name="fallback"/> when absent.</summary>
    public double Double(string name, double fallback, double min, double max = double.MaxValue, bool minIncluded = false)
    {
        if (!_values.TryGetValue(name, out var value))
        {
            return fallback;
        }

        var number = value.AsDouble(name);
        return (number > min || (minIncluded && number == min)) && number <= max
            ? number
            : throw new ArgumentException($"Learner '{_learner}': parameter '{name}' must be in {(minIncluded ? "[" : "(")}{Format(min)}, {Format(max)}] (was {Format(number)}).");
    }

    /// <summary>One of <paramref name="allowed"/> (ordinal), or <paramref name="fallback"/> when absent.</summary>
    public string Text(string name, string fallback, params string[] allowed)
    {
        if (!_values.TryGetValue(name, out var value))
        {
            return fallback;
        }

        var text = value.AsText(name);
        return allowed.Contains(text, StringComparer.Ordinal)
            ? text
            : throw new ArgumentException($"Learner '{_learner}': parameter '{name}' must be one of {string.Join(", ", allowed)} (was '{text}').");
    }

    private ArgumentException OutOfRange(string name, int value, int min, int max) =>
        new($"Learner '{_learner}': parameter '{name}' must be in [{min}, {max}] (was {value}).");

    private static string Format(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}
