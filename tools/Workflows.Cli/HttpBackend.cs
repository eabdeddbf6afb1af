using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace Workflows.Cli;

/// <summary>The commands against a running host: its Durable Functions HTTP API under <c>runtime/webhooks/durabletask/</c>.</summary>
internal sealed class HttpBackend(DurableApiClient api) : IDurableBackend
{
    public Task<ApiAnswer> StartAsync(string orchestrator, string? instanceId, string? inputJson, CancellationToken cancellationToken) =>
        api.SendAsync(HttpMethod.Post, "orchestrators/" + Escape(orchestrator) + (instanceId is null ? string.Empty : "/" + Escape(instanceId)), inputJson, null, cancellationToken);

    public Task<ApiAnswer> GetAsync(string instanceId, bool showInput, bool showHistory, CancellationToken cancellationToken) =>
        api.SendAsync(
            HttpMethod.Get,
            DurableApiClient.InstancePath(instanceId) + (showHistory ? "?showHistory=true&showHistoryOutput=true" : Query([("showInput", showInput ? "true" : "false")])),
            null,
            instanceId,
            cancellationToken);

    public Task<ApiAnswer> ListAsync(InstanceFilter filter, int? top, string? continuationToken, CancellationToken cancellationToken) =>
        api.SendAsync(
            HttpMethod.Get,
            "instances" + Query([.. FilterParameters(filter), ("instanceIdPrefix", filter.IdPrefix), ("name", filter.NamePrefix), ("top", top?.ToString(CultureInfo.InvariantCulture))]),
            null,
            null,
            cancellationToken,
            continuationToken);

    public Task RaiseEventAsync(string instanceId, string eventName, string? dataJson, CancellationToken cancellationToken) =>
        api.SendAsync(HttpMethod.Post, $"{DurableApiClient.InstancePath(instanceId)}/raiseEvent/{Escape(eventName)}", dataJson, instanceId, cancellationToken);

    public Task OperateAsync(string instanceId, string operation, string? reason, CancellationToken cancellationToken) =>
        api.SendAsync(HttpMethod.Post, $"{DurableApiClient.InstancePath(instanceId)}/{operation}{Query([("reason", reason)])}", null, instanceId, cancellationToken);

    public Task<ApiAnswer> PurgeAsync(string instanceId, CancellationToken cancellationToken) =>
        api.SendAsync(HttpMethod.Delete, DurableApiClient.InstancePath(instanceId), null, instanceId, cancellationToken);

    public async Task<ApiAnswer> PurgeManyAsync(InstanceFilter filter, CancellationToken cancellationToken)
    {
        try
        {
            return await api.SendAsync(HttpMethod.Delete, "instances" + Query(FilterParameters(filter)), null, null, cancellationToken);
        }
        catch (CliException exception) when (exception.ExitCode == ExitCodes.NotFound)
        {
            // The API answers 404 when no finished instance matches: nothing to purge is not an error here.
            return new ApiAnswer(HttpStatusCode.OK, new JsonObject { ["instancesDeleted"] = 0 }.ToJsonString(), null);
        }
    }

    public ValueTask DisposeAsync()
    {
        api.Dispose();
        return ValueTask.CompletedTask;
    }

    private static string Escape(string segment) => Uri.EscapeDataString(segment);

    private static string Time(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);

    private static (string Name, string? Value)[] FilterParameters(InstanceFilter filter) =>
    [
        ("runtimeStatus", filter.Statuses.Count == 0 ? null : string.Join(',', filter.Statuses)),
        ("createdTimeFrom", filter.CreatedFrom is { } from ? Time(from) : null),
        ("createdTimeTo", filter.CreatedTo is { } to ? Time(to) : null),
    ];

    private static string Query(IEnumerable<(string Name, string? Value)> parameters)
    {
        var query = new StringBuilder();
        foreach (var (name, value) in parameters)
        {
            if (value is null)
            {
                continue;
            }

            query.Append(query.Length == 0 ? '?' : '&').Append(name).Append('=').Append(Uri.EscapeDataString(value));
        }

        return query.ToString();
    }
}
