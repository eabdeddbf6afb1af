using System.Text.Json;
using System.Text.RegularExpressions;
using Spectre.Console;

namespace Workflows.Cli;

/// <summary>The table renderings of the API's answers (<c>--output table</c>).</summary>
internal static partial class Views
{
    private const int CellLimit = 120;

    /// <summary>The fields of a history event shown as its details, the first present one.</summary>
    private static readonly string[] DetailFields = ["Result", "Reason", "OrchestrationStatus", "Input"];

    /// <summary>An instance's status as a two-column table.</summary>
    public static void Status(IAnsiConsole console, JsonElement status, bool showInput, bool showOutput)
    {
        var table = new Table().Border(TableBorder.Rounded).AddColumn("Field").AddColumn("Value");
        Row(table, "Name", Text(status, "name"));
        Row(table, "Instance id", Text(status, "instanceId"));
        Row(table, "Runtime status", Text(status, "runtimeStatus"));
        Row(table, "Created", Text(status, "createdTime"));
        Row(table, "Last updated", Text(status, "lastUpdatedTime"));
        if (Text(status, "customStatus") is { Length: > 0 } customStatus)
        {
            Row(table, "Custom status", customStatus);
        }

        if (showInput)
        {
            Row(table, "Input", Text(status, "input"));
        }

        if (showOutput)
        {
            Row(table, "Output", Text(status, "output"));
        }

        if (status.TryGetProperty("failureDetails", out var failure) && failure.ValueKind == JsonValueKind.Object)
        {
            Row(table, "Failure", $"{Text(failure, "errorType")}: {Text(failure, "errorMessage")}");
        }

        console.Write(table);
    }

    /// <summary>A page of instances, one row each.</summary>
    public static void Instances(IAnsiConsole console, JsonElement instances)
    {
        if (instances.GetArrayLength() == 0)
        {
            console.WriteLine("No instance matches.");
            return;
        }

        var table = new Table().Border(TableBorder.Rounded)
            .AddColumn("Instance id").AddColumn("Name").AddColumn("Runtime status").AddColumn("Created").AddColumn("Last updated").AddColumn("Custom status");
        foreach (var instance in instances.EnumerateArray())
        {
            table.AddRow(Cells(Text(instance, "instanceId"), Text(instance, "name"), Text(instance, "runtimeStatus"), Text(instance, "createdTime"), Text(instance, "lastUpdatedTime"), Short(Text(instance, "customStatus"))));
        }

        console.Write(table);
    }

    /// <summary>An instance's history events in order.</summary>
    public static void History(IAnsiConsole console, JsonElement status)
    {
        var table = new Table().Border(TableBorder.Rounded).AddColumn("#").AddColumn("Event").AddColumn("Timestamp").AddColumn("Name").AddColumn("Details");
        var number = 0;
        if (status.TryGetProperty("historyEvents", out var events) && events.ValueKind == JsonValueKind.Array)
        {
            foreach (var historyEvent in events.EnumerateArray())
            {
                var name = Text(historyEvent, "Name") is { Length: > 0 } n ? n : Text(historyEvent, "FunctionName");
                var details = DetailFields
                    .Select(field => Text(historyEvent, field) is { Length: > 0 } value ? $"{field}: {value}" : null)
                    .FirstOrDefault(static value => value is not null) ?? string.Empty;
                table.AddRow(Cells((++number).ToString(System.Globalization.CultureInfo.InvariantCulture), Text(historyEvent, "EventType"), Text(historyEvent, "Timestamp"), name, Short(details)));
            }
        }

        console.Write(table);
    }

    /// <summary>A field as display text: strings as they are, other JSON compact; empty when absent or null.</summary>
    public static string Text(JsonElement element, string field) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(field, out var value)
            ? value.ValueKind switch
            {
                JsonValueKind.String => value.GetString()!,
                JsonValueKind.Null or JsonValueKind.Undefined => string.Empty,
                _ => JsonSerializer.Serialize(value),
            }
            : string.Empty;

    /// <summary>
    /// The host's check-status links carry a key in their <c>code</c> parameter; output shows <c>code=***</c> instead,
    /// so no key reaches a terminal or a script's log.
    /// </summary>
    public static string RedactKeys(string json) => CodeParameter().Replace(json, "${1}***");

    private static string Short(string text) => text.Length <= CellLimit ? text : text[..(CellLimit - 1)] + "…";

    private static void Row(Table table, string field, string value) => table.AddRow(new Text(field), new Text(value));

    private static Text[] Cells(params string[] values) => [.. values.Select(static value => new Text(value))];

    [GeneratedRegex(@"((?:[?&]|\\u0026)code=)[^&""\\]*")]
    private static partial Regex CodeParameter();
}
