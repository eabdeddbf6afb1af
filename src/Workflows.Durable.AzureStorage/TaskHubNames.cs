using System.Globalization;

namespace Workflows.Durable.AzureStorage;

/// <summary>
/// Names of a task hub's storage resources, derived as DTFx AzureStorage does: tables <c>{Hub}Instances</c> and
/// <c>{Hub}History</c>, queues <c>{hub}-control-NN</c> and <c>{hub}-workitems</c>, containers
/// <c>{hub}-largemessages</c> and <c>{hub}-leases</c>.
/// </summary>
public sealed class TaskHubNames
{
    /// <summary>Shortest task hub name.</summary>
    public const int MinLength = 3;

    /// <summary>Longest task hub name (queue names are at most 63 characters and get a suffix).</summary>
    public const int MaxLength = 45;

    /// <summary>Derives the resource names of hub <paramref name="taskHubName"/> with <paramref name="partitionCount"/> control queues.</summary>
    public TaskHubNames(string taskHubName, int partitionCount)
    {
        Validate(taskHubName);
        ArgumentOutOfRangeException.ThrowIfLessThan(partitionCount, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(partitionCount, AzureStorageOptions.MaxPartitionCount);
        var lower = taskHubName.ToLowerInvariant();
        TaskHub = taskHubName;
        InstancesTable = taskHubName + "Instances";
        HistoryTable = taskHubName + "History";
        WorkItemQueue = lower + "-workitems";
        LargeMessagesContainer = lower + "-largemessages";
        LeasesContainer = lower + "-leases";
        PoisonQueue = lower + "-poison";
        ControlQueues = Enumerable.Range(0, partitionCount)
            .Select(i => $"{lower}-control-{i.ToString("D2", CultureInfo.InvariantCulture)}")
            .ToArray();
    }

    /// <summary>The task hub name as configured.</summary>
    public string TaskHub { get; }

    /// <summary>Instances table.</summary>
    public string InstancesTable { get; }

    /// <summary>History table.</summary>
    public string HistoryTable { get; }

    /// <summary>Activity work-item queue.</summary>
    public string WorkItemQueue { get; }

    /// <summary>Container of payloads too large for a queue message or table property.</summary>
    public string LargeMessagesContainer { get; }

    /// <summary>Container of partition lease blobs.</summary>
    public string LeasesContainer { get; }

    /// <summary>Messages that could not be processed after the maximum number of attempts, kept for inspection.</summary>
    public string PoisonQueue { get; }

    /// <summary>Control queues, one per partition.</summary>
    public IReadOnlyList<string> ControlQueues { get; }

    /// <summary>The partition (control queue index) of an instance: a stable hash, the same in every process and version.</summary>
    public int PartitionOf(string instanceId) => PartitionOf(instanceId, ControlQueues.Count);

    /// <summary>The partition of <paramref name="instanceId"/> among <paramref name="partitionCount"/>: FNV-1a over the UTF-16 code units.</summary>
    public static int PartitionOf(string instanceId, int partitionCount)
    {
        ArgumentNullException.ThrowIfNull(instanceId);
        ArgumentOutOfRangeException.ThrowIfLessThan(partitionCount, 1);
        var hash = 2166136261u;
        foreach (var c in instanceId)
        {
            hash = (hash ^ c) * 16777619u;
        }

        return (int)(hash % (uint)partitionCount);
    }

    /// <summary>Throws <see cref="ArgumentException"/> explaining why <paramref name="taskHubName"/> is not a valid hub name.</summary>
    public static void Validate(string taskHubName)
    {
        if (string.IsNullOrEmpty(taskHubName) || taskHubName.Length is < MinLength or > MaxLength)
        {
            throw new ArgumentException($"Task hub name '{taskHubName}' must be {MinLength} to {MaxLength} characters long (Azure table and queue naming rules).");
        }

        if (!char.IsAsciiLetter(taskHubName[0]))
        {
            throw new ArgumentException($"Task hub name '{taskHubName}' must start with a letter (Azure table naming rules).");
        }

        foreach (var c in taskHubName)
        {
            if (!char.IsAsciiLetterOrDigit(c))
            {
                throw new ArgumentException($"Task hub name '{taskHubName}' may contain only letters and digits; '{c}' is not allowed (Azure table naming rules).");
            }
        }
    }
}
