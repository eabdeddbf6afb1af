using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using Workflows.Testing;
using Xunit;

namespace Workflows.Cli.Tests;

/// <summary>
/// The storage mode against a real task hub on Azurite, for both backends: a host runs the test app on the hub while
/// the CLI works straight on its storage (no --url), its JSON the same as the host's HTTP API answers; then, the host
/// stopped, delete-task-hub removes the hub's storage.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class StorageModeTests(AzuriteFixture azurite)
{
    private static string NewId(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 13)];

    [Theory]
    [InlineData("Workflows")]
    [InlineData("AzureStorage")]
    public async Task Commands_WorkOnTheHubsStorage_AsOverHttp_ThenDeleteTaskHubRemovesIt(string provider)
    {
        var hub = "cli" + provider[..5].ToLowerInvariant() + Guid.NewGuid().ToString("N")[..10];
        var setting = "CLI_TEST_STORAGE_" + Guid.NewGuid().ToString("N")[..8].ToUpperInvariant();
        string? Variable(string name) => name == setting ? azurite.ConnectionString : name == "WorkflowsStorageProvider" ? provider : null;
        var prefix = NewId("st") + "-";
        var (steps, greeting, approval, doomed) = (prefix + "steps", prefix + "greet", prefix + "approve", prefix + "doomed");

        await using (var host = await CliHost.StartOnStorageAsync(azurite.ConnectionString, provider, hub))
        {
            // The hub's name comes from host.json in the current directory, the provider from WorkflowsStorageProvider.
            var environment = new CliEnvironment(Variable, host.Root);
            Task<CliRun> Storage(params string[] args) => Cli.RunAsync(environment, [.. args, "--connection-string-setting", setting]);
            async Task<CliRun> StorageSucceeds(params string[] args)
            {
                var run = await Storage(args);
                Assert.True(run.ExitCode == 0, $"durable {string.Join(' ', args)} exited {run.ExitCode}: {run.Stderr}");
                return run;
            }

            async Task WaitForAsync(string id, string status)
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                while ((await StorageSucceeds("get-runtime-status", "--id", id, "-o", "json")).Json.GetProperty("runtimeStatus").GetString() != status)
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(100), timeout.Token);
                }
            }

            // start-new --wait: progress from customStatus, polled from storage.
            var waited = await StorageSucceeds("start-new", "--function-name", "ProgressSteps", "--id", steps, "--input", "3", "--wait", "--timeout", "25");
            Assert.Contains("100% {\"phase\":\"stepping\",\"done\":3,\"total\":3}", waited.Stdout, StringComparison.Ordinal);
            Assert.Matches(@"│\s*Runtime status\s*│\s*Completed", waited.Stdout);
            var greeted = await StorageSucceeds("start-new", "--function-name", "Greetings", "--id", greeting, "--input", "\"Lisbon\"", "--wait", "-o", "json");
            Assert.Equal(["Hello Lisbon!", "Hello Seattle!", "Hello London!"], greeted.Json.GetProperty("output").EnumerateArray().Select(static e => e.GetString()));

            // Status, list and history: the HTTP API's documents, the same text in both modes.
            var status = await StorageSucceeds("get-runtime-status", "--id", greeting, "--show-input", "-o", "json");
            var statusTable = await StorageSucceeds("get-runtime-status", "--id", greeting, "--show-input", "--show-output");
            var list = await StorageSucceeds("get-instances", "--id-prefix", prefix, "--runtime-status", "Completed", "-o", "json");
            var history = await StorageSucceeds("get-history", "--id", greeting, "-o", "json");
            var historyTable = await StorageSucceeds("get-history", "--id", greeting);
            Assert.Equal((await Cli.SucceedsAsync(host, "get-runtime-status", "--id", greeting, "--show-input", "-o", "json")).Stdout, status.Stdout);
            Assert.Equal((await Cli.SucceedsAsync(host, "get-instances", "--id-prefix", prefix, "--runtime-status", "Completed", "-o", "json")).Stdout, list.Stdout);
            Assert.Equal((await Cli.SucceedsAsync(host, "get-history", "--id", greeting, "-o", "json")).Stdout, history.Stdout);
            Assert.Equal("Lisbon", status.Json.GetProperty("input").GetString());
            Assert.Matches(@"│\s*Input\s*│\s*Lisbon\s", statusTable.Stdout);
            Assert.Equal([greeting, steps], list.Json.EnumerateArray().Select(static i => i.GetProperty("instanceId").GetString()).Order());

            // By the start of the orchestration's name, any case, in both modes.
            var byName = await StorageSucceeds("get-instances", "--id-prefix", prefix, "--name", "greet", "-o", "json");
            Assert.Equal([greeting], byName.Json.EnumerateArray().Select(static i => i.GetProperty("instanceId").GetString()));
            Assert.Equal((await Cli.SucceedsAsync(host, "get-instances", "--id-prefix", prefix, "--name", "greet", "-o", "json")).Stdout, byName.Stdout);
            Assert.Equal(3, history.Json.GetProperty("historyEvents").EnumerateArray().Count(static e => e.GetProperty("EventType").GetString() == "TaskCompleted"));
            Assert.Contains("Hello Lisbon!", historyTable.Stdout, StringComparison.Ordinal);

            // An event for a waiting instance, a termination of another; a finished one refuses the operation.
            await StorageSucceeds("start-new", "--function-name", "WaitForApproval", "--id", approval);
            await StorageSucceeds("start-new", "--function-name", "WaitForApproval", "--id", doomed);
            await WaitForAsync(approval, "Running");
            await WaitForAsync(doomed, "Running");
            var raised = await StorageSucceeds("raise-event", "--id", approval, "--event-name", "Approval", "--event-data", "\"Ada\"");
            var terminated = await StorageSucceeds("terminate", "--id", doomed, "--reason", "not needed", "-o", "json");
            await WaitForAsync(approval, "Completed");
            await WaitForAsync(doomed, "Terminated");
            var again = await Storage("terminate", "--id", doomed);
            Assert.Contains($"Raised event 'Approval' on instance '{approval}'", raised.Stdout, StringComparison.Ordinal);
            Assert.Equal("terminate", terminated.Json.GetProperty("operation").GetString());
            Assert.Equal("approved by Ada", (await StorageSucceeds("get-runtime-status", "--id", approval, "-o", "json")).Json.GetProperty("output").GetString());
            Assert.Equal(ExitCodes.Refused, again.ExitCode);
            Assert.StartsWith("durable: Instance is not in a state for this operation:", again.Stderr, StringComparison.Ordinal);

            // Purge one; then it, like an id that never was, is not found, as over HTTP.
            var purged = await StorageSucceeds("purge-history", "--id", greeting);
            var gone = await Storage("get-runtime-status", "--id", greeting);
            var unknown = await Storage("get-history", "--id", "no-such-instance");
            Assert.Equal("Purged 1 instance.", purged.Stdout.Trim());
            Assert.Equal(ExitCodes.NotFound, gone.ExitCode);
            Assert.Equal($"durable: no instance '{greeting}'", gone.Stderr.Trim());
            Assert.Equal(ExitCodes.NotFound, unknown.ExitCode);
            Assert.Equal("durable: no instance 'no-such-instance'", unknown.Stderr.Trim());
            Assert.DoesNotContain(azurite.ConnectionString, string.Concat(status.Stdout, list.Stdout, gone.Stderr), StringComparison.Ordinal);
        }

        // The host stopped: delete the hub, named explicitly, from anywhere.
        var elsewhere = new CliEnvironment(Variable, Path.GetTempPath());
        string[] target = ["--connection-string-setting", setting, "--task-hub-name", hub, "--storage-provider", provider];
        var deleted = await Cli.RunAsync(elsewhere, ["delete-task-hub", .. target, "-o", "json"]);
        var afterwards = await Cli.RunAsync(elsewhere, ["get-instances", .. target]);
        var deletedAgain = await Cli.RunAsync(elsewhere, ["delete-task-hub", .. target]);

        Assert.True(deleted.ExitCode == 0, deleted.Stderr);
        Assert.True(deleted.Json.GetProperty("deleted").GetBoolean());
        Assert.Equal(hub, deleted.Json.GetProperty("taskHub").GetString());
        var resources = deleted.Json.GetProperty("resources").EnumerateArray().Select(static r => r.GetString()!).ToList();
        Assert.Contains($"table {hub}Instances", resources);
        Assert.Contains($"table {hub}History", resources);
        Assert.Contains($"queue {hub.ToLowerInvariant()}-control-00", resources);
        Assert.Empty(await HubResourcesAsync(hub));
        Assert.True(await new BlobServiceClient(azurite.ConnectionString).GetBlobContainerClient(hub.ToLowerInvariant() + "-host").ExistsAsync(), "the host's own container stays");
        Assert.Equal(ExitCodes.NotFound, afterwards.ExitCode);
        Assert.Equal($"durable: there is no task hub '{hub}' in the storage of setting '{setting}' (no table {hub}Instances); a host creates it when it first starts", afterwards.Stderr.Trim());
        Assert.Equal(0, deletedAgain.ExitCode);
        Assert.Contains("nothing was deleted", deletedAgain.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NoSuchHub_IsNotFound_AndNoHostUrlMixesWithTheStorageOptions()
    {
        var setting = "CLI_TEST_STORAGE_" + Guid.NewGuid().ToString("N")[..8].ToUpperInvariant();
        var environment = new CliEnvironment(name => name == setting ? azurite.ConnectionString : null, Path.GetTempPath());

        var missing = await Cli.RunAsync(environment, "get-instances", "--connection-string-setting", setting, "--task-hub-name", "nosuchhub1");
        var mixed = await Cli.RunAsync(environment, "get-instances", "--task-hub-name", "nosuchhub1", "--url", "http://127.0.0.1:7071");

        Assert.Equal(ExitCodes.NotFound, missing.ExitCode);
        Assert.StartsWith("durable: there is no task hub 'nosuchhub1' in the storage of setting", missing.Stderr, StringComparison.Ordinal);
        Assert.Equal(ExitCodes.Usage, mixed.ExitCode);
        Assert.Contains("--task-hub-name chooses the storage mode", mixed.Stderr, StringComparison.Ordinal);
    }

    /// <summary>What storage still holds of the hub: its tables, its queues and its containers but the host's own.</summary>
    private async Task<List<string>> HubResourcesAsync(string hub)
    {
        var lower = hub.ToLowerInvariant();
        var left = new List<string>();
        await foreach (var table in new TableServiceClient(azurite.ConnectionString).QueryAsync())
        {
            if (table.Name.StartsWith(hub, StringComparison.OrdinalIgnoreCase))
            {
                left.Add(table.Name);
            }
        }

        await foreach (var queue in new QueueServiceClient(azurite.ConnectionString).GetQueuesAsync(prefix: lower))
        {
            left.Add(queue.Name);
        }

        await foreach (var container in new BlobServiceClient(azurite.ConnectionString).GetBlobContainersAsync(prefix: lower))
        {
            if (container.Name != lower + "-host")
            {
                left.Add(container.Name);
            }
        }

        return left;
    }
}
