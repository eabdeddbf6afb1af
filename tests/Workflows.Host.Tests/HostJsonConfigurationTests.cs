using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Workflows.Host.Configuration;
using Xunit;

namespace Workflows.Host.Tests;

public sealed class HostJsonConfigurationTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("workflows-host-config-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void Bind_HostJsonAndLocalSettings_FillOptions()
    {
        File.WriteAllText(Path.Combine(_root, "host.json"), """
            {
              "version": "2.0",
              "functionTimeout": "00:02:00",
              "logging": { "logLevel": { "default": "Warning", "Workflows.Durable": "Error" } },
              "extensions": {
                "durableTask": { "hubName": "ConfigHub", "maxConcurrentActivityFunctions": 7, "maxConcurrentOrchestratorFunctions": 3, "storageProvider": { "partitionCount": 2 } },
                "http": { "routePrefix": "/fn/", "maxRequestBodySize": 2048 }
              }
            }
            """);
        File.WriteAllText(Path.Combine(_root, "local.settings.json"), """{ "IsEncrypted": false, "Values": { "AzureWebJobsStorage": "UseDevelopmentStorage=true" } }""");

        var (options, warnings) = Bind();

        Assert.Empty(warnings);
        Assert.Equal("ConfigHub", options.HubName);
        Assert.Equal(7, options.MaxConcurrentActivityFunctions);
        Assert.Equal(3, options.MaxConcurrentOrchestratorFunctions);
        Assert.Equal(2, options.PartitionCount);
        Assert.Equal("fn", options.RoutePrefix);
        Assert.Equal(2048, options.MaxRequestBodySize);
        Assert.Equal(TimeSpan.FromMinutes(2), options.FunctionTimeout);
        Assert.Equal(LogLevel.Warning, options.LogLevels["default"]);
        Assert.Equal(LogLevel.Error, options.LogLevels["Workflows.Durable"]);
        Assert.Equal("UseDevelopmentStorage=true", options.StorageConnectionString);
    }

    [Fact]
    public void Bind_EnvironmentStyleOverride_WinsOverHostJsonAndLocalSettings()
    {
        File.WriteAllText(Path.Combine(_root, "host.json"), """{ "extensions": { "durableTask": { "hubName": "FileHub" } } }""");
        File.WriteAllText(Path.Combine(_root, "local.settings.json"), """{ "Values": { "AzureWebJobsStorage": "UseDevelopmentStorage=true" } }""");

        var (options, _) = Bind(new Dictionary<string, string?>
        {
            ["AzureFunctionsJobHost:extensions:durableTask:hubName"] = "EnvHub",
            ["AzureWebJobsStorage"] = "DefaultEndpointsProtocol=http;AccountName=x",
        });

        Assert.Equal("EnvHub", options.HubName);
        Assert.Equal("DefaultEndpointsProtocol=http;AccountName=x", options.StorageConnectionString);
    }

    [Fact]
    public void AddFiles_LocalSettingsValues_AreExportedToTheEnvironmentUnlessAlreadySet()
    {
        var fresh = "WorkflowsTestFresh_" + Guid.NewGuid().ToString("N");
        var existing = "WorkflowsTestExisting_" + Guid.NewGuid().ToString("N");
        Environment.SetEnvironmentVariable(existing, "from-environment");
        try
        {
            File.WriteAllText(Path.Combine(_root, "local.settings.json"), $$"""{ "Values": { "{{fresh}}": "from-file", "{{existing}}": "from-file" } }""");

            HostJsonConfiguration.AddFiles(new ConfigurationManager(), _root, exportValuesToEnvironment: true);

            Assert.Equal("from-file", Environment.GetEnvironmentVariable(fresh));
            Assert.Equal("from-environment", Environment.GetEnvironmentVariable(existing));
        }
        finally
        {
            Environment.SetEnvironmentVariable(fresh, null);
            Environment.SetEnvironmentVariable(existing, null);
        }
    }

    [Fact]
    public void Bind_UnknownKey_Warns()
    {
        File.WriteAllText(Path.Combine(_root, "host.json"), """{ "extensions": { "durableTask": { "hubName": "Hub1", "maxConcurrentActivityFunctionz": 5 } } }""");

        var (_, warnings) = Bind();

        Assert.Equal(["host.json: unknown key 'extensions.durableTask.maxConcurrentActivityFunctionz' is ignored."], warnings);
    }

    [Theory]
    [InlineData("""{ "extensions": { "durableTask": { "maxConcurrentActivityFunctions": "many" } } }""", "extensions.durableTask.maxConcurrentActivityFunctions must be an integer")]
    [InlineData("""{ "extensions": { "durableTask": { "maxConcurrentOrchestratorFunctions": 0 } } }""", "extensions.durableTask.maxConcurrentOrchestratorFunctions must be between 1")]
    [InlineData("""{ "extensions": { "durableTask": { "storageProvider": { "partitionCount": 17 } } } }""", "extensions.durableTask.storageProvider.partitionCount must be between 1 and 16")]
    [InlineData("""{ "extensions": { "durableTask": { "hubName": "9lives" } } }""", "extensions.durableTask.hubName")]
    [InlineData("""{ "functionTimeout": "soon" }""", "functionTimeout must be a time span")]
    [InlineData("""{ "logging": { "logLevel": { "default": "Loud" } } }""", "logging.logLevel.default must be a log level")]
    [InlineData("""{ "extensions": { "http": { "routePrefix": "runtime" } } }""", "extensions.http.routePrefix")]
    [InlineData("""{ "extensions": { "durableTask": """, "host.json is not valid JSON")]
    public void Bind_InvalidValue_FailsNamingTheKey(string hostJson, string expected)
    {
        File.WriteAllText(Path.Combine(_root, "host.json"), hostJson);

        var error = Assert.Throws<HostConfigurationException>(() =>
        {
            var (options, _) = Bind();
            options.Validate();
        });

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_AzureStorageWithoutConnectionString_FailsNamingAzureWebJobsStorage()
    {
        var error = Assert.Throws<HostConfigurationException>(() => new FunctionsHostOptions().Validate());

        Assert.Contains("AzureWebJobsStorage is not set", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Bind_RetentionPolicies_WithTheirDefaults()
    {
        File.WriteAllText(Path.Combine(_root, "host.json"), """
            {
              "workflows": { "retention": {
                "schedule": "0 30 2 * * *", "batchSize": 50, "batchPause": "00:00:02",
                "policies": [
                  { "orchestration": "HelloSequence", "statuses": [ "Completed" ], "maxAge": "7.00:00:00" },
                  { "orchestration": "*", "maxAge": "30.00:00:00" }
                ] } }
            }
            """);

        var (options, warnings) = Bind();

        Assert.Empty(warnings);
        var retention = options.Retention;
        Assert.Equal(("0 30 2 * * *", 50, TimeSpan.FromSeconds(2)), (retention.ScheduleText, retention.BatchSize, retention.BatchPause));
        Assert.Equal(
            ["HelloSequence Completed older than 7.00:00:00", "* Completed/Failed/Terminated older than 30.00:00:00"],
            retention.Policies.Select(static p => p.ToString()));
        Assert.True(retention.Policies[0].Covers("hellosequence"));
        Assert.False(retention.Policies[0].Covers("FanOutFanIn"));
        Assert.True(retention.Policies[1].Covers("FanOutFanIn"));
    }

    [Theory]
    [InlineData("""{ "schedule": "hourly", "policies": [ { "orchestration": "*", "maxAge": "1.00:00:00" } ] }""", "workflows.retention.schedule must be a six-field NCRONTAB expression")]
    [InlineData("""{ "batchSize": 0, "policies": [ { "orchestration": "*", "maxAge": "1.00:00:00" } ] }""", "workflows.retention.batchSize must be from 1 to 1000; got '0'")]
    [InlineData("""{ "batchSize": "many", "policies": [ { "orchestration": "*", "maxAge": "1.00:00:00" } ] }""", "workflows.retention.batchSize must be an integer; got 'many'")]
    [InlineData("""{ "batchPause": "00:05:00", "policies": [ { "orchestration": "*", "maxAge": "1.00:00:00" } ] }""", "workflows.retention.batchPause must be a time span from 00:00:00 to 00:01:00")]
    [InlineData("""{ "policies": [ { "orchestration": "X" } ] }""", "workflows.retention.policies.0.maxAge must be a time span")]
    [InlineData("""{ "policies": [ { "orchestration": "X", "maxAge": "a week" } ] }""", "workflows.retention.policies.0.maxAge must be a time span hh:mm:ss; got 'a week'")]
    [InlineData("""{ "policies": [ { "maxAge": "1.00:00:00" } ] }""", "workflows.retention.policies.0.orchestration must be an orchestration's name, or * for every orchestration")]
    [InlineData("""{ "policies": [ { "orchestration": "*", "maxAge": "-1.00:00:00" } ] }""", "workflows.retention.policies.0.maxAge must be a positive time span")]
    [InlineData("""{ "policies": [ { "orchestration": "*", "maxAge": "1.00:00:00", "statuses": [ "Running" ] } ] }""", "workflows.retention.policies.0.statuses.0 must be Completed, Failed or Terminated")]
    [InlineData("""{ "policies": [ { "orchestration": "*", "maxAge": "1.00:00:00", "statuses": "Completed" } ] }""", "workflows.retention.policies.0.statuses must be an array of statuses")]
    [InlineData("""{ "policies": [ { "orchestrations": "X", "maxAge": "1.00:00:00" } ] }""", "unknown key 'workflows.retention.policies.0.orchestrations' in workflows.retention")]
    public void Bind_BadRetention_IsAClearStartUpError(string retention, string expected)
    {
        File.WriteAllText(Path.Combine(_root, "host.json"), $$"""{ "workflows": { "retention": {{retention}} } }""");

        var exception = Assert.Throws<HostConfigurationException>(() => Bind());

        Assert.Contains(expected, exception.Message, StringComparison.Ordinal);
    }

    private (FunctionsHostOptions Options, List<string> Warnings) Bind(Dictionary<string, string?>? environment = null)
    {
        var configuration = new ConfigurationManager();
        configuration.AddInMemoryCollection(environment ?? []);
        HostJsonConfiguration.AddFiles(configuration, _root, exportValuesToEnvironment: false);
        var options = new FunctionsHostOptions();
        var warnings = new List<string>();
        HostJsonConfiguration.Bind(configuration, options, warnings);
        return (options, warnings);
    }
}
