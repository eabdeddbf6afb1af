using System.Text.Json;
using Workflows.Host.Tests;
using Workflows.ML.Data;
using Workflows.ML.Registry;
using Workflows.Testing;
using Xunit;

namespace Workflows.Dashboard.Tests;

/// <summary>
/// The host's dashboard in Debian's Chromium (headless), against hosts on Azurite: a finished training run's learning
/// curve, a statistics run's histograms and a rolled-back canary's weights are drawn, the actions (terminate, suspend,
/// resume, raise event, restart, purge, rewind) work from the page, and without a key the page gets nothing when keys
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
    public async Task A_finished_training_runs_learning_curve_and_a_statistics_runs_histograms_are_drawn()
    {
        await using var host = await TestHost.StartAsync(azurite.ConnectionString, settings: $"{DataRoot.Setting}={_data}");
        await host.RunToEndAsync("GenerateDataset", JsonSerializer.Serialize(new { rows = 4_000, features = 4, informative = 3, chunkRows = 1_000, seed = 1, destination = "data" }));
        var training = await host.RunToEndAsync("EpochTraining", JsonSerializer.Serialize(new { dataset = "data", labelColumn = "label", modelName = "m", epochs = 3, holdoutFraction = 0.25, seed = 2 }));
        var statistics = await host.RunToEndAsync("ChunkedStatistics", JsonSerializer.Serialize(new { dataset = "data", labelColumn = "label", histogramBins = 10 }));

        await _browser.NavigateAsync(new Uri(host.BaseAddress + "/"));
        await OpenAsync(statistics);

        // One histogram per feature column, ten bars each.
        await _browser.WaitForAsync("document.querySelectorAll('#histograms svg').length === 4");
        Assert.Equal(
            [10, 10, 10, 10],
            (await _browser.EvaluateAsync("[...document.querySelectorAll('#histograms svg')].map(svg => svg.querySelectorAll('rect[data-bin]').length)")).EnumerateArray().Select(static n => n.GetInt32()));

        await OpenAsync(training);

        // One point per epoch on each series, and the polyline through them.
        await _browser.WaitForAsync("document.querySelectorAll('#learning-curve circle[data-series=\"logLoss\"]').length === 3");
        var points = await _browser.EvaluateAsync("document.querySelector('#learning-curve polyline[data-series=\"logLoss\"]').getAttribute('points').split(' ').length");
        var accuracy = await _browser.EvaluateAsync("document.querySelectorAll('#learning-curve circle[data-series=\"accuracy\"]').length");
        Assert.Equal((3, 3), (points.GetInt32(), accuracy.GetInt32()));
        Assert.Equal("Completed", (await _browser.EvaluateAsync("document.getElementById('detail-status').textContent")).GetString());
    }

    [Fact]
    public async Task A_rolled_back_canary_shows_its_weight_its_failed_analysis_and_the_rollback()
    {
        var registry = new LocalFolderModelRegistry(Path.Combine(_data, "models"));
        foreach (var bias in new[] { 0f, 6f })
        {
            await registry.RegisterAsync(new ModelRegistration("m", "onnx", new Dictionary<string, double>(), new ModelLineage("test", "none", new Dictionary<string, string>(), null)), TestModels.LinearOnnx(4, biasShift: bias));
        }

        await using var serving = await InProcessServing.StartAsync(_data);
        await serving.AdminAsync(HttpMethod.Post, "admin/refresh");
        await using var host = await TestHost.StartAsync(azurite.ConnectionString, settings: [$"{DataRoot.Setting}={_data}", .. serving.AppSettings]);
        serving.StartLoad("m", 4, center: 0);
        await serving.WaitForAnswersAsync(100);
        var canary = await host.RunToEndAsync("CanaryPromotion", JsonSerializer.Serialize(new
        {
            model = "m",
            candidateVersion = 2,
            steps = new[] { new { weight = 50, pause = "00:00:05" }, new { weight = 100, pause = "00:00:01" } },
            analysisInterval = "00:00:01",
            checks = new[] { new { name = "predictions", kind = "PsiVsStable", threshold = 0.25, minSamples = 100, inconclusiveLimit = 4 } },
        }));
        await serving.StopLoadAsync();

        await _browser.NavigateAsync(new Uri(host.BaseAddress + "/"));
        await OpenAsync(canary);

        // The weight at 50 %, the failed analysis that ended it, and the rollback marked.
        await _browser.WaitForAsync("document.querySelector('#canary-weights line[data-rollback]')");
        Assert.True((await _browser.EvaluateAsync("document.querySelectorAll('#canary-weights circle[data-phase=\"Failed\"]').length")).GetInt32() >= 1);
        Assert.Contains("RolledBack", (await _browser.EvaluateAsync("document.querySelector('#canary-weights').parentElement.textContent")).GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_running_instance_is_terminated_from_the_page()
    {
        await using var host = await TestHost.StartAsync(azurite.ConnectionString, app: TestApps.Worker);
        var waiting = await host.StartAsync("WaitForApproval");
        await host.WaitForStatusAsync(waiting, static s => TestHost.IsStatus(s, "Running"));

        await _browser.NavigateAsync(new Uri(host.BaseAddress + "/"));
        await OpenAsync(waiting);
        await _browser.WaitForAsync("!document.getElementById('terminate').hidden");
        await _browser.EvaluateAsync("document.getElementById('terminate').click()");

        // The page shows the new status, in the instance's panel and in the list, and the API agrees.
        await _browser.WaitForAsync("document.getElementById('detail-status').textContent === 'Terminated'");
        await _browser.WaitForAsync($"document.querySelector('tr[data-instance=\"{waiting}\"] td:nth-child(3)').textContent === 'Terminated'");
        var status = await host.WaitForStatusAsync(waiting, static s => TestHost.IsStatus(s, "Terminated"));
        Assert.Equal("terminated from the dashboard", status.GetProperty("output").GetString());
    }

    [Fact]
    public async Task Suspend_resume_raise_event_restart_purge_and_rewind_from_the_page()
    {
        await using var host = await TestHost.StartAsync(azurite.ConnectionString, app: TestApps.Worker);
        var waiting = await host.StartAsync("WaitForApproval");
        await host.WaitForStatusAsync(waiting, static s => TestHost.IsStatus(s, "Running"));
        await _browser.NavigateAsync(new Uri(host.BaseAddress + "/"));
        await OpenAsync(waiting);

        await ClickAsync("suspend");
        await _browser.WaitForAsync("document.getElementById('detail-status').textContent === 'Suspended' && !document.getElementById('resume').hidden");
        await ClickAsync("resume");
        await _browser.WaitForAsync("document.getElementById('detail-status').textContent === 'Running'");

        await _browser.EvaluateAsync("document.getElementById('event-name').value = 'Approval'; document.getElementById('event-data').value = '\"Ada\"'");
        await ClickAsync("raise-event");
        await _browser.WaitForAsync("document.getElementById('detail-status').textContent === 'Completed'");
        Assert.Equal("approved by Ada", (await host.WaitForStatusAsync(waiting, static s => TestHost.IsStatus(s, "Completed"))).GetProperty("output").GetString());

        // Restart: a new instance of the same orchestration and input, opened in the panel.
        await ClickAsync("restart");
        await _browser.WaitForAsync($"document.getElementById('detail-id').textContent !== '{waiting}' && document.getElementById('detail-status').textContent === 'Running'");
        var restarted = (await _browser.EvaluateAsync("document.getElementById('detail-id').textContent")).GetString()!;
        Assert.Equal("WaitForApproval", (await host.WaitForStatusAsync(restarted, static s => TestHost.IsStatus(s, "Running"))).GetProperty("name").GetString());

        // Purge the first one (confirmed): gone from the API and from the list.
        await OpenAsync(waiting);
        await _browser.EvaluateAsync("window.confirm = () => true");
        await ClickAsync("purge");
        await _browser.WaitForAsync($"document.getElementById('detail').hidden && !document.querySelector('tr[data-instance=\"{waiting}\"]')");
        using (var gone = await host.Http.GetAsync(new Uri($"runtime/webhooks/durabletask/instances/{waiting}", UriKind.Relative)))
        {
            Assert.Equal(System.Net.HttpStatusCode.NotFound, gone.StatusCode);
        }

        // Rewind: an instance whose activity failed once runs its failed step again and completes.
        var failed = await host.StartAsync("FailsOnce");
        await host.WaitForStatusAsync(failed, static s => TestHost.IsStatus(s, "Failed"));
        await OpenAsync(failed);
        await ClickAsync("rewind");
        await _browser.WaitForAsync("document.getElementById('detail-status').textContent === 'Completed'");
        Assert.Equal(string.Empty, (await _browser.EvaluateAsync("document.getElementById('action-error').textContent")).GetString());
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

    /// <summary>Clicks the panel's button <paramref name="id"/> once it shows.</summary>
    private async Task ClickAsync(string id)
    {
        await _browser.WaitForAsync($"!document.getElementById('{id}').hidden && !document.getElementById('{id}').closest('[hidden]')");
        await _browser.EvaluateAsync($"document.getElementById('{id}').click()");
    }

    /// <summary>Waits for the instance's row in the list and opens it.</summary>
    private async Task OpenAsync(string instanceId)
    {
        await _browser.WaitForAsync($"document.querySelector('tr[data-instance=\"{instanceId}\"]')");
        await _browser.EvaluateAsync($"document.querySelector('tr[data-instance=\"{instanceId}\"] a').click()");
        await _browser.WaitForAsync($"document.getElementById('detail-id').textContent === '{instanceId}'");
    }
}
