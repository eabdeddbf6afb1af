using System.Globalization;
using System.Text.Json;

namespace Workflows.Cli;

/// <summary>
/// What an instance's <c>customStatus</c> says about its progress: the text to show, and a fraction done when the
/// status is a number from 0 to 1 or an object with numeric <c>done</c>/<c>total</c>, <c>completed</c>/<c>total</c>
/// or <c>chunksDone</c>/<c>chunksTotal</c> fields.
/// </summary>
internal readonly record struct StatusProgress(string Text, double? Fraction)
{
    private static readonly (string Done, string Total)[] FieldPairs = [("done", "total"), ("completed", "total"), ("chunksDone", "chunksTotal")];

    public static StatusProgress From(JsonElement customStatus)
    {
        switch (customStatus.ValueKind)
        {
            case JsonValueKind.Undefined or JsonValueKind.Null:
                return new(string.Empty, null);
            case JsonValueKind.String:
                return new(customStatus.GetString()!, null);
            case JsonValueKind.Number:
                var value = customStatus.GetDouble();
                return new(customStatus.GetRawText(), value is >= 0 and <= 1 ? value : null);
            case JsonValueKind.Object:
                var text = JsonSerializer.Serialize(customStatus);
                foreach (var (doneName, totalName) in FieldPairs)
                {
                    if (customStatus.TryGetProperty(doneName, out var done) && done.ValueKind == JsonValueKind.Number
                        && customStatus.TryGetProperty(totalName, out var total) && total.ValueKind == JsonValueKind.Number
                        && total.GetDouble() > 0)
                    {
                        return new(text, Math.Clamp(done.GetDouble() / total.GetDouble(), 0, 1));
                    }
                }

                return new(text, null);
            default:
                return new(customStatus.GetRawText(), null);
        }
    }

    /// <summary>One line: the percentage when known, then the text.</summary>
    public override string ToString() =>
        Fraction is { } fraction ? string.Create(CultureInfo.InvariantCulture, $"{fraction * 100,3:0}% {Text}") : Text;
}
