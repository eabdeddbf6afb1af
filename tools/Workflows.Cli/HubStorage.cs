using System.Net.Sockets;
using Azure;
using Azure.Core;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Specialized;
using Azure.Storage.Queues;

namespace Workflows.Cli;

/// <summary>
/// The storage mode's own look at the account: whether the task hub exists, what it holds, and the storage SDK's
/// failures as one-line <see cref="CliException"/>s with the exit codes of the HTTP mode (storage that does not answer
/// is "host down"). No message carries the connection string or anything of it but the endpoint.
/// </summary>
internal sealed class HubStorage
{
    private readonly StorageTarget _target;
    private readonly Lazy<(TableServiceClient Tables, QueueServiceClient Queues, BlobServiceClient Blobs)> _clients;

    public HubStorage(StorageTarget target)
    {
        _target = target;
        _clients = new(Create);
    }

    /// <summary>Whether the hub's instances table (<c>{hub}Instances</c>, the same in both layouts) exists.</summary>
    public Task<bool> HubExistsAsync(CancellationToken cancellationToken) =>
        GuardAsync(async () =>
        {
            var instances = _clients.Value.Tables.GetTableClient(_target.TaskHubName + "Instances");
            try
            {
                await foreach (var _ in instances.QueryAsync<TableEntity>(maxPerPage: 1, select: ["PartitionKey"], cancellationToken: cancellationToken).AsPages(pageSizeHint: 1).WithCancellation(cancellationToken))
                {
                    break;
                }

                return true;
            }
            catch (RequestFailedException exception) when (exception.Status == 404)
            {
                return false;
            }
        });

    public CliException NoHub() => new(
        ExitCodes.NotFound,
        $"there is no task hub '{_target.TaskHubName}' in the storage of setting '{_target.SettingName}' (no table {_target.TaskHubName}Instances); a host creates it when it first starts");

    /// <summary>
    /// The names of the hub's tables, queues and containers other than the host's own container: tables
    /// <c>{hub}Instances</c>, <c>{hub}History</c>, <c>{hub}Partitions</c>; queues and containers <c>{hub}-*</c>.
    /// </summary>
    public async Task<List<string>> ResourcesAsync(CancellationToken cancellationToken)
    {
        var (tables, queues, blobs) = _clients.Value;
        var hub = _target.TaskHubName;
        var prefix = hub.ToLowerInvariant() + "-";
        // The names the two layouts use, and no other: an unrelated '{hub}-archive' container in the account stays.
        var hubQueue = new System.Text.RegularExpressions.Regex("^" + prefix + @"(control-\d{2}|workitems|poison)$", System.Text.RegularExpressions.RegexOptions.CultureInvariant);
        string[] hubContainers = [prefix + "largemessages", prefix + "leases", prefix + "applease"];
        var names = new List<string>();
        string[] hubTables = [hub + "Instances", hub + "History", hub + "Partitions"];
        await foreach (var table in tables.QueryAsync(cancellationToken: cancellationToken))
        {
            if (hubTables.Contains(table.Name, StringComparer.OrdinalIgnoreCase))
            {
                names.Add(TablePrefix + table.Name);
            }
        }

        await foreach (var queue in queues.GetQueuesAsync(prefix: prefix, cancellationToken: cancellationToken))
        {
            if (hubQueue.IsMatch(queue.Name))
            {
                names.Add(QueuePrefix + queue.Name);
            }
        }

        await foreach (var container in blobs.GetBlobContainersAsync(prefix: prefix, cancellationToken: cancellationToken))
        {
            if (hubContainers.Contains(container.Name, StringComparer.Ordinal))
            {
                names.Add(ContainerPrefix + container.Name);
            }
        }

        return names;
    }

    /// <summary>The hub's control queues (<c>{hub}-control-NN</c>): its partition count; 0 when it has none.</summary>
    public Task<int> ControlQueueCountAsync(CancellationToken cancellationToken) =>
        GuardAsync(async () =>
        {
            var count = 0;
            await foreach (var _ in _clients.Value.Queues.GetQueuesAsync(prefix: _target.TaskHubName.ToLowerInvariant() + "-control-", cancellationToken: cancellationToken))
            {
                count++;
            }

            return count;
        });

    /// <summary>Deletes resources <see cref="ResourcesAsync"/> named (what a backend's own delete left of the hub).</summary>
    public async Task DeleteAsync(IEnumerable<string> resources, CancellationToken cancellationToken)
    {
        var (tables, queues, blobs) = _clients.Value;
        foreach (var resource in resources)
        {
            if (resource.StartsWith(TablePrefix, StringComparison.Ordinal))
            {
                await tables.DeleteTableAsync(resource[TablePrefix.Length..], cancellationToken);
            }
            else if (resource.StartsWith(QueuePrefix, StringComparison.Ordinal))
            {
                await queues.GetQueueClient(resource[QueuePrefix.Length..]).DeleteIfExistsAsync(cancellationToken);
            }
            else if (resource.StartsWith(ContainerPrefix, StringComparison.Ordinal))
            {
                var container = blobs.GetBlobContainerClient(resource[ContainerPrefix.Length..]);
                try
                {
                    await container.DeleteIfExistsAsync(cancellationToken: cancellationToken);
                }
                catch (RequestFailedException exception) when (exception.Status == 412)
                {
                    // A lease left by a stopped host (DTFx's app lease): broken at once, as the hub goes anyway.
                    await container.GetBlobLeaseClient().BreakAsync(TimeSpan.Zero, cancellationToken: cancellationToken);
                    await container.DeleteIfExistsAsync(cancellationToken: cancellationToken);
                }
            }
        }
    }

    private const string TablePrefix = "table ";
    private const string QueuePrefix = "queue ";
    private const string ContainerPrefix = "container ";

    /// <summary>The host's own container beside the hub: its keys, timer schedules and timer leases.</summary>
    public string HostContainer => _target.TaskHubName.ToLowerInvariant() + "-host";

    /// <summary>Runs a storage call, turning the storage SDK's failures into <see cref="CliException"/>s.</summary>
    public async Task<T> GuardAsync<T>(Func<Task<T>> call)
    {
        try
        {
            return await call();
        }
        catch (Exception exception) when (exception is not CliException and not OperationCanceledException)
        {
            throw Translate(exception);
        }
    }

    private CliException Translate(Exception exception)
    {
        var endpoint = Endpoint();
        if (Find<SocketException>(exception) is not null || Find<HttpRequestException>(exception) is not null || Find<IOException>(exception) is not null
            || Find<RequestFailedException>(exception) is { Status: 0 })
        {
            var hint = _target.IsDevelopmentStorage || endpoint.Contains("127.0.0.1", StringComparison.Ordinal) || endpoint.Contains("localhost", StringComparison.OrdinalIgnoreCase)
                ? "; is Azurite running? (./run.sh starts it)"
                : string.Empty;
            return new CliException(ExitCodes.HostDown, $"no storage answers at {endpoint} (setting '{_target.SettingName}'){hint}");
        }

        if (Find<RequestFailedException>(exception) is { } failed)
        {
            if (failed.Status is 401 or 403)
            {
                return new CliException(ExitCodes.KeyRefused, $"the storage account at {endpoint} refused the credentials of setting '{_target.SettingName}' ({failed.Status} {failed.ErrorCode})");
            }

            if (failed.Status == 404 && failed.ErrorCode is "TableNotFound" or "QueueNotFound" or "ContainerNotFound")
            {
                return NoHub();
            }

            return new CliException(ExitCodes.HostError, $"storage at {endpoint} failed: {failed.Status} {failed.ErrorCode}");
        }

        return exception switch
        {
            FormatException or ArgumentException or InvalidOperationException when !_clients.IsValueCreated =>
                new CliException(ExitCodes.Usage, $"setting '{_target.SettingName}' does not hold a storage connection string"),
            TimeoutException => new CliException(ExitCodes.HostError, $"storage at {endpoint} did not answer in time"),
            _ => new CliException(ExitCodes.HostError, $"the storage call failed ({exception.GetType().Name}) on {_target}"),
        };
    }

    /// <summary>The table endpoint, without any query (a SAS stays out of messages).</summary>
    private string Endpoint() =>
        _clients.IsValueCreated ? _clients.Value.Tables.Uri.GetLeftPart(UriPartial.Path).TrimEnd('/') : "the account";

    private (TableServiceClient, QueueServiceClient, BlobServiceClient) Create()
    {
        // Few, short retries: a command line reports storage that does not answer in seconds, not after the SDK's
        // default half minute of backoff.
        static T Quick<T>(T options)
            where T : ClientOptions
        {
            options.Retry.MaxRetries = 2;
            options.Retry.Delay = TimeSpan.FromMilliseconds(200);
            options.Retry.MaxDelay = TimeSpan.FromSeconds(1);
            options.Retry.NetworkTimeout = TimeSpan.FromSeconds(20);
            return options;
        }

        var connectionString = _target.ConnectionString;
        return (new TableServiceClient(connectionString, Quick(new TableClientOptions())),
            new QueueServiceClient(connectionString, Quick(new QueueClientOptions())),
            new BlobServiceClient(connectionString, Quick(new BlobClientOptions())));
    }

    private static T? Find<T>(Exception? exception)
        where T : Exception
    {
        while (exception is not null)
        {
            if (exception is T found)
            {
                return found;
            }

            if (exception is AggregateException aggregate)
            {
                foreach (var inner in aggregate.InnerExceptions)
                {
                    if (Find<T>(inner) is { } nested)
                    {
                        return nested;
                    }
                }

                return null;
            }

            exception = exception.InnerException;
        }

        return null;
    }
}
