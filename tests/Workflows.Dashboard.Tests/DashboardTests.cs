using System.Text.Json;
using Workflows.Host.Tests;
using Workflows.ML.Data;
using Workflows.Testing;
using Xunit;

namespace Workflows.Dashboard.Tests;

/// <summary>
/// The host's dashboard in Debian's Chromium (headless), against hosts on Azurite: a finished training run's learning
/// curve is drawn, a running instance is terminated from the page, and without a key the page gets nothing when keys
/// are enforced.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class DashboardTests(AzuriteFixture azurite) : IAsyncLifetime, IDisposable
{
    private readonly string _data = Directory.CreateTempSubdirectory("dashboard-data-").FullName;
    private Chromium _browser = null!;

    public async Task InitializeAsync() => _browser = await Chromium.StartAsync();

    public async Task DisposeAsync() => await _browser.DisposeAsync();

    public void Dispose() => Directory.Delete(_data, recursive: true);

    [Fact]
    public async Task A_finished_training_runs_learning_curve_is_drawn()
    {
        await using var host = await TestHost.StartAsync(azurite.ConnectionString, settings: $"{DataRoot.Setting}={_data}");
        await RunAsync(host, "GenerateDataset", new { rows = 4_000, features = 4, informative = 3, chunkRows = 1_000, seed = 1, destination = "data" });
        var training = await RunAsync(host, "EpochTraining", new { dataset = "data", labelColumn = "label", modelName = "m", epochs = 3, holdoutFraction = 0.25, seed = 2 });

        await _browser.NavigateAsync(new Uri(host.BaseAddress + "/"));
        await _browser.WaitForAsync($"document.querySelector('tr[data-instance=\"{training}\"]')");
        await _browser.EvaluateAsync($"document.querySelector('tr[data-instance=\"{training}\"] a').click()");

        // One point per epoch on each series, and the polyline through them.
        await _browser.WaitForAsync("document.querySelectorAll('#learning-curve circle[data-series=\"logLoss\"]').length === 3");
        var points = await _browser.EvaluateAsync("document.querySelector('#learning-curve polyline[data-series=\"logLoss\"]').getAttribute('points').split(' ').length");
        var accuracy = await _browser.EvaluateAsync("document.querySelectorAll('#learning-curve circle[data-series=\"accuracy\"]').length");
        Assert.Equal((3, 3), (points.GetInt32(), accuracy.GetInt32()));
        Assert.Equal("Completed", (await _browser.EvaluateAsync("document.getElementById('detail-status').textContent")).GetString());
    }

    [Fact]
    public async Task A_running_instance_is_terminated_from_the_page()
    {
        await using var host = await TestHost.StartAsync(azurite.ConnectionString, app: TestApps.Worker);
        var waiting = await host.StartAsync("WaitForApproval");
        await host.WaitForStatusAsync(waiting, static s => TestHost.IsStatus(s, "Running"));

        await _browser.NavigateAsync(new Uri(host.BaseAddress + "/"));
        await _browser.WaitForAsync($"document.querySelector('tr[data-instance=\"{waiting}\"]')");
        await _browser.EvaluateAsync($"document.querySelector('tr[data-instance=\"{waiting}\"] a').click()");
        await _browser.WaitForAsync("!document.getElementById('terminate').hidden");
        await _browser.EvaluateAsync("document.getElementById('terminate').click()");

        // The page shows the new status, in the instance's panel and in the list, and the API agrees.
        await _browser.WaitForAsync("document.getElementById('detail-status').textContent === 'Terminated'");
        await _browser.WaitForAsync($"document.querySelector('tr[data-instance=\"{waiting}\"] td:nth-child(3)').textContent === 'Terminated'");
        var status = await host.WaitForStatusAsync(waiting, static s => TestHost.IsStatus(s, "Terminated"));
        Assert.Equal("terminated from the dashboard", status.GetProperty("output").GetString());
    }

    [Fact]
    public async Task With_keys_enforced_the_page_gets_nothing_without_the_master_key()
    {
        await using var host = await TestHost.StartAsync(azurite.ConnectionString, app: TestApps.Worker, settings: "WorkflowsEnforceKeys=true");
        var master = host.Keys.MasterKey;
        using var start = new HttpRequestMessage(HttpMethod.Post, "runtime/webhooks/durabletask/orchestrators/Greetings") { Content = new StringContent("\"Lisbon\"", System.Text.Encoding.UTF8, "application/json") };
        start.Headers.Add("x-functions-key", master);
        using var started = await host.Http.SendAsync(start);
        var id = JsonDocument.Parse(await started.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString()!;

        await _browser.NavigateAsync(new Uri(host.BaseAddress + "/"));
        await _browser.WaitForAsync("document.getElementById('error').textContent.includes('HTTP 401')");
        Assert.Contains("refused", (await _browser.EvaluateAsync("document.getElementById('error').textContent")).GetString(), StringComparison.Ordinal);
        Assert.Equal(0, (await _browser.EvaluateAsync("document.querySelectorAll('#instances tr').length")).GetInt32());

        await _browser.NavigateAsync(new Uri(host.BaseAddress + "/?code=" + Uri.EscapeDataString(master)));
        await _browser.WaitForAsync($"document.querySelector('tr[data-instance=\"{id}\"]')");
        Assert.Equal(string.Empty, (await _browser.EvaluateAsync("document.getElementById('error').textContent")).GetString());
    }

    private static async Task<string> RunAsync(TestHost host, string orchestrator, object input)
    {
        var id = await host.StartAsync(orchestrator, JsonSerializer.Serialize(input));
        var status = await host.WaitForStatusAsync(id, static s => s.GetProperty("runtimeStatus").GetString() is "Completed" or "Failed" or "Terminated");
        Assert.True(TestHost.IsStatus(status, "Completed"), $"{orchestrator} ended {status}");
        return id;
    }
}
