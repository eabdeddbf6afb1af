using System.Text.Json;

namespace Workflows.Cli;

/// <summary>The task hub backends the storage mode reads and writes (host.json's <c>storageProvider.type</c>).</summary>
internal enum StorageProvider
{
    /// <summary>Our task hub, <c>Workflows.Durable.AzureStorage</c>.</summary>
    Workflows,

    /// <summary>DTFx's <c>DurableTask.AzureStorage</c> layout, as Durable Functions writes it.</summary>
    AzureStorage,
}

/// <summary>
/// The task hub the storage mode works on: the connection string (a secret: no member of this type prints it), the
/// hub's name, its backend and its partition count, resolved from the options, the environment, and host.json and
/// local.settings.json in the current directory, as the host resolves them.
/// </summary>
internal sealed class StorageTarget
{
    public const string DefaultSetting = "AzureWebJobsStorage";
    public const string DefaultHubName = "WorkflowsHub";
    public const string ProviderSetting = "WorkflowsStorageProvider";
    private const int DefaultPartitionCount = 4;

    private static readonly JsonDocumentOptions Lenient = new() { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true };

    private StorageTarget(string settingName, string connectionString, string taskHubName, StorageProvider provider, int partitionCount)
    {
        SettingName = settingName;
        ConnectionString = connectionString;
        TaskHubName = taskHubName;
        Provider = provider;
        PartitionCount = partitionCount;
    }

    /// <summary>The app setting (environment variable, or local.settings.json value) that holds the connection string.</summary>
    public string SettingName { get; }

    /// <summary>The storage connection string: never printed, logged or put in a message.</summary>
    public string ConnectionString { get; }

    public string TaskHubName { get; }

    public StorageProvider Provider { get; }

    /// <summary>
    /// Control queues of the hub: the count its storage shows once the hub is opened (<see cref="WithPartitionCount"/>),
    /// host.json's <c>partitionCount</c> (default 4) until then. Messages go to the queue of the instance's partition,
    /// so the count must be the hub's own.
    /// </summary>
    public int PartitionCount { get; }

    /// <summary>The same target with the hub's own partition count.</summary>
    public StorageTarget WithPartitionCount(int partitionCount) => new(SettingName, ConnectionString, TaskHubName, Provider, partitionCount);

    /// <summary>Whether the connection string is the emulator's shorthand (Azurite on its default ports).</summary>
    public bool IsDevelopmentStorage =>
        ConnectionString.Replace(" ", string.Empty, StringComparison.Ordinal).Contains("UseDevelopmentStorage=true", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// Resolves the target: <paramref name="settingName"/> (default <c>AzureWebJobsStorage</c>) names the environment
    /// variable, else local.settings.json value, holding the connection string; <paramref name="hubName"/> defaults to
    /// host.json's <c>extensions.durableTask.hubName</c>, else <c>WorkflowsHub</c>; <paramref name="provider"/> to the
    /// <c>WorkflowsStorageProvider</c> setting, else host.json's <c>storageProvider.type</c>, else <c>Workflows</c>.
    /// </summary>
    public static StorageTarget Resolve(string? settingName, string? hubName, string? provider, CliEnvironment environment)
    {
        var hostJsonPath = Path.Combine(environment.Directory, "host.json");
        var localSettingsPath = Path.Combine(environment.Directory, "local.settings.json");
        var durableTask = Property(Read(hostJsonPath), "extensions", "durableTask");
        var values = Property(Read(localSettingsPath), "Values");

        var setting = settingName ?? DefaultSetting;
        if (setting.Contains('=', StringComparison.Ordinal) || setting.Contains(';', StringComparison.Ordinal))
        {
            // A connection string given in place of a setting's name: never repeated back, it holds a key.
            throw new CliException(ExitCodes.Usage, "--connection-string-setting takes the name of the setting that holds the connection string, not the connection string itself");
        }

        if (setting.Length == 0 || setting.Any(char.IsWhiteSpace))
        {
            throw new CliException(ExitCodes.Usage, $"--connection-string-setting takes the name of a setting; got '{setting}'");
        }

        var connectionString = environment.Variable(setting) ?? (Text(Property(values, setting)) is { Length: > 0 } fromFile ? fromFile : null)
            ?? throw new CliException(
                ExitCodes.Usage,
                $"the connection string setting '{setting}' is not set: looked for the environment variable {setting} and for {setting} in the Values of {Path.GetFullPath(localSettingsPath)}");

        var hub = hubName ?? Text(Property(durableTask, "hubName")) ?? DefaultHubName;
        if (hub.Length is < 3 or > 45 || !char.IsAsciiLetter(hub[0]) || !hub.All(char.IsAsciiLetterOrDigit))
        {
            throw new CliException(ExitCodes.Usage, $"the task hub name must be 3 to 45 letters and digits starting with a letter; got '{hub}'");
        }

        var (kindText, source) = provider is not null ? (provider, "--storage-provider")
            : environment.Variable(ProviderSetting) is { } fromEnvironment ? (fromEnvironment, ProviderSetting)
            : Text(Property(values, ProviderSetting)) is { Length: > 0 } fromValues ? (fromValues, ProviderSetting + " in local.settings.json")
            : Text(Property(durableTask, "storageProvider", "type")) is { Length: > 0 } fromHostJson ? (fromHostJson, "host.json's extensions.durableTask.storageProvider.type")
            : (nameof(StorageProvider.Workflows), "the default");
        var kind = kindText.Trim() switch
        {
            var k when k.Equals(nameof(StorageProvider.Workflows), StringComparison.OrdinalIgnoreCase) => StorageProvider.Workflows,
            var k when k.Equals(nameof(StorageProvider.AzureStorage), StringComparison.OrdinalIgnoreCase) => StorageProvider.AzureStorage,
            var k when k.Equals("InMemory", StringComparison.OrdinalIgnoreCase) => throw new CliException(
                ExitCodes.Usage, $"{source} is InMemory: that task hub lives in a running host's memory; reach it through the host (--url)"),
            _ => throw new CliException(ExitCodes.Usage, $"{source} must be Workflows or AzureStorage; got '{kindText}'"),
        };

        var partitions = Property(durableTask, "storageProvider", "partitionCount") is { ValueKind: JsonValueKind.Number } count && count.TryGetInt32(out var n) ? n : DefaultPartitionCount;
        if (partitions is < 1 or > 16)
        {
            throw new CliException(ExitCodes.Usage, $"host.json: extensions.durableTask.storageProvider.partitionCount must be between 1 and 16; got {partitions}");
        }

        return new StorageTarget(setting, connectionString, hub, kind, partitions);
    }

    /// <summary>The target without its secret: provider, hub and setting name.</summary>
    public override string ToString() => $"task hub '{TaskHubName}' ({Provider}, storage of setting '{SettingName}')";

    private static JsonElement Read(string path)
    {
        if (!File.Exists(path))
        {
            return default;
        }

        try
        {
            using var document = JsonDocument.Parse(File.ReadAllText(path), Lenient);
            return document.RootElement.Clone();
        }
        catch (Exception exception) when (exception is JsonException or IOException or UnauthorizedAccessException)
        {
            throw new CliException(ExitCodes.Usage, $"cannot read {Path.GetFullPath(path)}: {(exception is JsonException ? "it is not JSON" : exception.Message)}");
        }
    }

    /// <summary>A nested property, its names matched ignoring case (as Functions reads its settings); undefined when absent.</summary>
    private static JsonElement Property(JsonElement element, params string[] path)
    {
        foreach (var name in path)
        {
            if (element.ValueKind != JsonValueKind.Object)
            {
                return default;
            }

            var found = element.EnumerateObject().FirstOrDefault(p => string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase));
            element = found.Value;
        }

        return element;
    }

    private static string? Text(JsonElement element) => element.ValueKind == JsonValueKind.String ? element.GetString() : null;
}
