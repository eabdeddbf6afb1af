using System.Text.Json;

namespace Workflows.Cli;

/// <summary>A JSON value given on the command line, inline or as <c>@path</c> to a file holding it.</summary>
internal static class JsonInput
{
    /// <summary>The JSON text of <paramref name="value"/> (null when not given); throws a usage error when it is not JSON.</summary>
    public static string? Read(string? value, string optionName)
    {
        if (value is null)
        {
            return null;
        }

        var text = value;
        if (value.StartsWith('@'))
        {
            var path = value[1..];
            try
            {
                text = File.ReadAllText(path);
            }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
            {
                throw new CliException(ExitCodes.Usage, $"{optionName}: cannot read '{path}': {exception.Message}");
            }
        }

        try
        {
            using var document = JsonDocument.Parse(text);
        }
        catch (JsonException exception)
        {
            throw new CliException(ExitCodes.Usage, $"{optionName} is not JSON ({exception.Message}); a string needs its quotes, e.g. '\"Lisbon\"'");
        }

        return text;
    }
}
