using System.Net;
using System.Text.Json;

namespace Workflows.Cli;

/// <summary>A success answer of the HTTP API: status, body text and the continuation token of a list page.</summary>
internal sealed record ApiAnswer(HttpStatusCode Status, string Body, string? ContinuationToken)
{
    /// <summary>The body as JSON; a body that is not JSON means the URL is not a Durable Functions host.</summary>
    public JsonElement Json()
    {
        try
        {
            using var document = JsonDocument.Parse(Body);
            return document.RootElement.Clone();
        }
        catch (JsonException)
        {
            throw new CliException(ExitCodes.HostError, $"the host answered {(int)Status} with a body that is not JSON");
        }
    }
}
