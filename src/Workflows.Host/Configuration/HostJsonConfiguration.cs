using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Cronos;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Configuration.Memory;
using Microsoft.Extensions.Logging;

namespace Workflows.Host.Configuration;

/// <summary>
/// host.json and local.settings.json as Azure Functions reads them: host.json lands under the
/// <c>AzureFunctionsJobHost</c> section (so <c>AzureFunctionsJobHost__extensions__durableTask__hubName</c> in the
/// environment overrides it), local.settings.json's <c>Values</c> become app settings; both rank below environment
/// variables and the command line.
/// </summary>
internal static partial class HostJsonConfiguration
{
    public const string Section = "AzureFunctionsJobHost";

    private static readonly HashSet<string> KnownKeys = new(StringComparer.OrdinalIgnoreCase)
    {
        "version",
        "functionTimeout",
        "extensions:durableTask:hubName",
        "extensions:durableTask:maxConcurrentActivityFunctions",
        "extensions:durableTask:maxConcurrentOrchestratorFunctions",
        "extensions:durableTask:extendedSessionsEnabled",
        "extensions:durableTask:extendedSessionIdleTimeoutInSeconds",
        "extensions:durableTask:storageProvider:type",
        "extensions:durableTask:storageProvider:partitionCount",
        "extensions:durableTask:storageProvider:maxQueuePollingInterval",
        "extensions:http:routePrefix",
        "extensions:http:maxRequestBodySize",
    };

    /// <summary>Adds host.json (when present) and local.settings.json's Values below every existing source.</summary>
    public static void AddFiles(IConfigurationBuilder configuration, string scriptRoot, bool exportValuesToEnvironment)
    {
        var hostJson = Path.Combine(scriptRoot, "host.json");
        if (File.Exists(hostJson))
        {
            configuration.Sources.Insert(0, new MemoryConfigurationSource { InitialData = Flatten(hostJson, "host.json", Section) });
        }

        var localSettings = Path.Combine(scriptRoot, "local.settings.json");
        if (File.Exists(localSettings))
        {
            var values = Flatten(localSettings, "local.settings.json", prefix: null)
                .Where(static pair => pair.Key.StartsWith("Values:", StringComparison.OrdinalIgnoreCase))
                .Select(static pair => new KeyValuePair<string, string?>(pair.Key["Values:".Length..], pair.Value))
                .ToList();
            configuration.Sources.Insert(0, new MemoryConfigurationSource { InitialData = values });
            if (exportValuesToEnvironment)
            {
                // As the Core Tools do: code that reads the environment sees the settings too; the environment wins.
                foreach (var (key, value) in values)
                {
                    if (Environment.GetEnvironmentVariable(key) is null)
                    {
                        Environment.SetEnvironmentVariable(key, value);
                    }
                }
            }
        }
    }

    /// <summary>Fills <paramref name="options"/> from configuration; unknown host.json keys become warnings.</summary>
    public static void Bind(IConfiguration configuration, FunctionsHostOptions options, ICollection<string> warnings)
    {
        var host = configuration.GetSection(Section);
        foreach (var (key, value) in host.AsEnumerable(makePathsRelative: true))
        {
            if (value is not null && key.StartsWith(RetentionPrefix, StringComparison.OrdinalIgnoreCase) && !RetentionKey().IsMatch(key))
            {
                // A retention typo must not widen what is purged (a misspelt orchestration reads as every one): an error.
                throw new HostConfigurationException($"host.json: unknown key '{Dotted(key)}' in workflows.retention (policies take orchestration, statuses and maxAge).");
            }

            if (value is not null && !KnownKeys.Contains(key) && !key.StartsWith("logging:logLevel:", StringComparison.OrdinalIgnoreCase) && !RetentionKey().IsMatch(key))
            {
                warnings.Add($"host.json: unknown key '{Dotted(key)}' is ignored.");
            }
        }

        options.HubName = host["extensions:durableTask:hubName"] ?? options.HubName;
        options.MaxConcurrentActivityFunctions = Int(host, "extensions:durableTask:maxConcurrentActivityFunctions") ?? options.MaxConcurrentActivityFunctions;
        options.MaxConcurrentOrchestratorFunctions = Int(host, "extensions:durableTask:maxConcurrentOrchestratorFunctions") ?? options.MaxConcurrentOrchestratorFunctions;
        options.ExtendedSessionsEnabled = Bool(host, "extensions:durableTask:extendedSessionsEnabled") ?? options.ExtendedSessionsEnabled;
        options.ExtendedSessionIdleTimeoutInSeconds = Int(host, "extensions:durableTask:extendedSessionIdleTimeoutInSeconds") ?? options.ExtendedSessionIdleTimeoutInSeconds;
        options.PartitionCount = Int(host, "extensions:durableTask:storageProvider:partitionCount") ?? options.PartitionCount;
        options.MaxQueuePollingInterval = Time(host, "extensions:durableTask:storageProvider:maxQueuePollingInterval") ?? options.MaxQueuePollingInterval;
        options.RoutePrefix = (host["extensions:http:routePrefix"] ?? options.RoutePrefix).Trim('/');
        options.MaxRequestBodySize = Long(host, "extensions:http:maxRequestBodySize") ?? options.MaxRequestBodySize;
        var timeout = host["functionTimeout"];
        options.FunctionTimeout = timeout is null ? options.FunctionTimeout : timeout.Trim() == "-1" ? null : Time(host, "functionTimeout");
        foreach (var level in host.GetSection("logging:logLevel").GetChildren())
        {
            options.LogLevels[level.Key] = Enum.TryParse<LogLevel>(level.Value, ignoreCase: true, out var parsed) && Enum.IsDefined(parsed)
                ? parsed
                : throw Invalid($"logging:logLevel:{level.Key}", level.Value, "a log level (Trace, Debug, Information, Warning, Error, Critical, None)");
        }

        BindRetention(host, options.Retention);
        options.StorageKind = StorageKind(configuration["WorkflowsStorageProvider"], "WorkflowsStorageProvider")
            ?? StorageKind(host["extensions:durableTask:storageProvider:type"], "extensions.durableTask.storageProvider.type")
            ?? options.StorageKind;
        options.StorageConnectionString = configuration["AzureWebJobsStorage"] ?? options.StorageConnectionString;
        if (configuration["WorkflowsAzuritePort"] is { } port)
        {
            options.AzuritePort = int.TryParse(port, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var parsedPort) && parsedPort is > 0 and <= 65533
                ? parsedPort
                : throw new HostConfigurationException($"WorkflowsAzuritePort must be a port number (1-65533); got '{port}'.");
        }

        if (configuration["WorkflowsGrpcPort"] is { } grpcPort)
        {
            options.GrpcPort = int.TryParse(grpcPort, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var parsedGrpcPort) && parsedGrpcPort is >= 0 and <= 65535
                ? parsedGrpcPort
                : throw new HostConfigurationException($"WorkflowsGrpcPort must be a port number (1-65535), or 0 for any free port; got '{grpcPort}'.");
        }

        options.AppPath = Path.GetFullPath(configuration["WorkflowsAppPath"] is { Length: > 0 } appPath ? appPath : ".", options.ScriptRoot);
        options.IsLocalDevelopment = string.Equals(configuration["AZURE_FUNCTIONS_ENVIRONMENT"], "Development", StringComparison.OrdinalIgnoreCase);
        var enforce = configuration["WorkflowsEnforceKeys"];
        options.EnforceKeys = enforce is null
            ? !options.IsLocalDevelopment
            : bool.TryParse(enforce, out var parsedEnforce) ? parsedEnforce : throw new HostConfigurationException($"WorkflowsEnforceKeys must be true or false; got '{enforce}'.");
        if (configuration["WorkflowsAllowedHosts"] is { } allowed)
        {
            options.AllowedHosts = allowed.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (options.AllowedHosts.FirstOrDefault(name => name.Contains('/', StringComparison.Ordinal) || name.Contains(':', StringComparison.Ordinal) || name == "*") is { } bad)
            {
                throw new HostConfigurationException($"WorkflowsAllowedHosts lists host names without scheme, port or wildcard; got '{bad}'.");
            }
        }
    }

    private static List<KeyValuePair<string, string?>> Flatten(string path, string fileName, string? prefix)
    {
        IConfigurationRoot root;
        try
        {
            root = new ConfigurationBuilder().AddJsonFile(path, optional: false, reloadOnChange: false).Build();
        }
        catch (Exception exception) when (exception is FormatException or InvalidDataException or JsonException)
        {
            throw new HostConfigurationException($"{fileName} is not valid JSON: {exception.InnerException?.Message ?? exception.Message}", exception);
        }

        return root.AsEnumerable()
            .Where(static pair => pair.Value is not null)
            .Select(pair => new KeyValuePair<string, string?>(prefix is null ? pair.Key : $"{prefix}:{pair.Key}", pair.Value))
            .ToList();
    }

    private static HostStorageKind? StorageKind(string? value, string key) =>
        value is null
            ? null
            : Enum.TryParse<HostStorageKind>(value.Trim(), ignoreCase: true, out var kind) && Enum.IsDefined(kind) && !int.TryParse(value, out _)
                ? kind
                : throw new HostConfigurationException($"{key} must be {string.Join(", ", Enum.GetNames<HostStorageKind>())}; got '{value}'.");

    private static int? Int(IConfiguration host, string key) =>
        host[key] is not { } raw ? null
        : int.TryParse(raw, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) ? value
        : throw Invalid(key, raw, "an integer");

    private static long? Long(IConfiguration host, string key) =>
        host[key] is not { } raw ? null
        : long.TryParse(raw, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) ? value
        : throw Invalid(key, raw, "an integer");

    private static bool? Bool(IConfiguration host, string key) =>
        host[key] is not { } raw ? null
        : bool.TryParse(raw, out var value) ? value
        : throw Invalid(key, raw, "true or false");

    private static TimeSpan? Time(IConfiguration host, string key) =>
        host[key] is not { } raw ? null
        : TimeSpan.TryParse(raw, CultureInfo.InvariantCulture, out var value) ? value
        : throw Invalid(key, raw, "a time span hh:mm:ss");

    /// <summary>The keys of <c>workflows.retention</c>; any other key under it is unknown (a warning).</summary>
    [GeneratedRegex(@"^workflows:retention:(schedule|batchSize|batchPause|policies:\d+:(orchestration|maxAge|statuses(:\d+)?))$", RegexOptions.IgnoreCase)]
    private static partial Regex RetentionKey();

    private const string RetentionPrefix = "workflows:retention:";

    private static void BindRetention(IConfiguration host, RetentionOptions retention)
    {
        const string prefix = RetentionPrefix;
        if (host[prefix + "schedule"] is { } schedule)
        {
            try
            {
                retention.Schedule = CronExpression.Parse(schedule.Trim(), CronFormat.IncludeSeconds);
                retention.ScheduleText = schedule.Trim();
            }
            catch (CronFormatException)
            {
                throw Invalid(prefix + "schedule", schedule, "a six-field NCRONTAB expression (second minute hour day month day-of-week)");
            }
        }

        retention.BatchSize = Int(host, prefix + "batchSize") is { } size
            ? size is >= 1 and <= RetentionOptions.MaxBatchSize ? size : throw Invalid(prefix + "batchSize", host[prefix + "batchSize"], $"from 1 to {RetentionOptions.MaxBatchSize}")
            : retention.BatchSize;
        retention.BatchPause = Time(host, prefix + "batchPause") is { } pause
            ? pause >= TimeSpan.Zero && pause <= RetentionOptions.MaxBatchPause ? pause : throw Invalid(prefix + "batchPause", host[prefix + "batchPause"], "a time span from 00:00:00 to 00:01:00")
            : retention.BatchPause;
        foreach (var policy in host.GetSection(prefix + "policies").GetChildren())
        {
            var key = $"{prefix}policies:{policy.Key}:";
            var orchestration = policy["orchestration"]?.Trim() is { Length: > 0 } name
                ? name
                : throw Invalid(key + "orchestration", policy["orchestration"], "an orchestration's name, or * for every orchestration");
            var maxAge = Time(host, key + "maxAge") ?? throw Invalid(key + "maxAge", null, "a time span d.hh:mm:ss (how long after its creation an instance is kept)");
            if (maxAge <= TimeSpan.Zero)
            {
                throw Invalid(key + "maxAge", policy["maxAge"], "a positive time span");
            }

            if (policy["statuses"] is { } single)
            {
                throw Invalid(key + "statuses", single, "an array of statuses, e.g. [\"Completed\", \"Failed\"]");
            }

            var statuses = new List<OrchestrationRuntimeStatus>();
            foreach (var status in policy.GetSection("statuses").GetChildren())
            {
                statuses.Add(Enum.TryParse<OrchestrationRuntimeStatus>(status.Value, ignoreCase: true, out var parsed) && RetentionPolicy.TerminalStatuses.Contains(parsed)
                    ? parsed
                    : throw Invalid($"{key}statuses:{status.Key}", status.Value, "Completed, Failed or Terminated (only finished instances are purged)"));
            }

            retention.Policies.Add(new RetentionPolicy(orchestration, statuses.Count > 0 ? statuses.Distinct().ToList() : RetentionPolicy.TerminalStatuses, maxAge));
        }
    }

    private static HostConfigurationException Invalid(string key, string? raw, string expected) =>
        new($"{Dotted(key)} must be {expected}; got '{raw}'.");

    private static string Dotted(string key) => key.Replace(':', '.');
}
