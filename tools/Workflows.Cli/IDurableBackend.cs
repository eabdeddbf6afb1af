namespace Workflows.Cli;

/// <summary>
/// Where the commands act: a host's Durable Functions HTTP API (<see cref="HttpBackend"/>) or the task hub's storage
/// (<see cref="StorageBackend"/>). Both answer with the HTTP API's JSON documents, so every view and <c>--output json</c>
/// is the same in both modes. Failures are <see cref="CliException"/>s with the HTTP mode's exit codes and messages.
/// </summary>
internal interface IDurableBackend : IAsyncDisposable
{
    /// <summary>Starts an instance; the answer's JSON has its <c>id</c> (and, from a host, the check-status links).</summary>
    Task<ApiAnswer> StartAsync(string orchestrator, string? instanceId, string? inputJson, CancellationToken cancellationToken);

    /// <summary>An instance's status document; with <paramref name="showHistory"/>, its history events with their results and inputs.</summary>
    Task<ApiAnswer> GetAsync(string instanceId, bool showInput, bool showHistory, CancellationToken cancellationToken);

    /// <summary>One page of instances (a JSON array) and the continuation token of the next one.</summary>
    Task<ApiAnswer> ListAsync(InstanceFilter filter, int? top, string? continuationToken, CancellationToken cancellationToken);

    /// <summary>Sends an event to an unfinished instance.</summary>
    Task RaiseEventAsync(string instanceId, string eventName, string? dataJson, CancellationToken cancellationToken);

    /// <summary><c>terminate</c>, <c>suspend</c>, <c>resume</c> or <c>rewind</c>.</summary>
    Task OperateAsync(string instanceId, string operation, string? reason, CancellationToken cancellationToken);

    /// <summary>Purges one finished instance: <c>{"instancesDeleted":N}</c>.</summary>
    Task<ApiAnswer> PurgeAsync(string instanceId, CancellationToken cancellationToken);

    /// <summary>Purges the finished instances that match: <c>{"instancesDeleted":N}</c>, N possibly 0.</summary>
    Task<ApiAnswer> PurgeManyAsync(InstanceFilter filter, CancellationToken cancellationToken);
}

/// <summary>
/// Which instances a list or purge takes: runtime statuses as given on the command line, creation times, an id prefix,
/// and (lists only) the start of the orchestration's name, any case.
/// </summary>
internal sealed record InstanceFilter(IReadOnlyList<string> Statuses, DateTimeOffset? CreatedFrom, DateTimeOffset? CreatedTo, string? IdPrefix, string? NamePrefix = null);
