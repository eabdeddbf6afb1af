using System.Globalization;
using System.Text.Json.Serialization;

namespace Workflows.ML.Search.Space;

/// <summary>
/// A hyper-parameter value: a number or a string. JSON writes it as a plain JSON number or string, so candidate
/// parameters read like scikit-learn's <c>params</c> dictionaries.
/// </summary>
[JsonConverter(typeof(ParameterValueJsonConverter))]
public sealed record ParameterValue
{
    private ParameterValue(double? number, string? text)
    {
        Number = number;
        Text = text;
    }

    /// <summary>The number, when this is a number.</summary>
    public double? Number { get; }

    /// <summary>The string, when this is a string.</summary>
    public string? Text { get; }

    /// <summary>True for a number, false for a string.</summary>
    public bool IsNumber => Number.HasValue;

    /// <summary>A number value (finite).</summary>
    public static ParameterValue Of(double number)
    {
        if (!double.IsFinite(number))
        {
            throw new ArgumentException($"A parameter value must be a finite number (was {number}).", nameof(number));
        }

        return new ParameterValue(number, null);
    }

    /// <summary>A string value.</summary>
    public static ParameterValue Of(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return new ParameterValue(null, text);
    }

    /// <summary>The value as a double; throws <see cref="ArgumentException"/> naming <paramref name="name"/> for a string.</summary>
    public double AsDouble(string name) =>
        Number ?? throw new ArgumentException($"Parameter '{name}' must be a number (was \"{Text}\").", nameof(name));

    /// <summary>The value as an integer; throws <see cref="ArgumentException"/> naming <paramref name="name"/> unless it is a whole number in int range.</summary>
    public int AsInt(string name)
    {
        var value = AsDouble(name);
        if (value != Math.Floor(value) || value < int.MinValue || value > int.MaxValue)
        {
            throw new ArgumentException($"Parameter '{name}' must be a whole number (was {value.ToString(CultureInfo.InvariantCulture)}).", nameof(name));
        }

        return (int)value;
    }

    /// <summary>The value as a string; throws <see cref="ArgumentException"/> naming <paramref name="name"/> for a number.</summary>
    public string AsText(string name) =>
        Text ?? throw new ArgumentException($"Parameter '{name}' must be a string (was {Number!.Value.ToString(CultureInfo.InvariantCulture)}).", nameof(name));

    /// <summary>The value as written in JSON, numbers in the invariant culture's shortest round-trip form.</summary>
    public override string ToString() => Number?.ToString("R", CultureInfo.InvariantCulture) ?? Text!;
}
