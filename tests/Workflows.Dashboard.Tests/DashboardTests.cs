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
    public async Task A_training_runs_learning_curve_a_statistics_runs_histograms_and_a_searchs_rungs_are_drawn()
    {
        await using var host = await TestHost.StartAsync(azurite.ConnectionString, settings: $"{DataRoot.Setting}={_data}");
        await host.RunToEndAsync("GenerateDataset", JsonSerializer.Serialize(new { rows = 4_000, features = 4, informative = 3, chunkRows = 1_000, seed = 1, destination = "data" }));
        var training = await host.RunToEndAsync("EpochTraining", JsonSerializer.Serialize(new { dataset = "data", labelColumn = "label", modelName = "m", epochs = 3, holdoutFraction = 0.25, seed = 2 }));
        var statistics = await host.RunToEndAsync("ChunkedStatistics", JsonSerializer.Serialize(new { dataset = "data", labelColumn = "label", histogramBins = 10 }));
        var search = await host.RunToEndAsync("HalvingSearch", JsonSerializer.Serialize(new
        {
            dataset = "data",
            labelColumn = "label",
            learner = "sgd_logistic",
            space = new { parameters = new object[] { new { name = "alpha", kind = "LogUniform", min = 0.00001, max = 0.1 } } },
            mode = "halving",
            seed = 3,
            nCandidates = 9,
            factor = 3,
            minResources = "exhaust",
            folds = 2,
        }));

        await _browser.NavigateAsync(new Uri(host.BaseAddress + "/"));
        await OpenAsync(statistics);

        // One histogram per feature column, ten bars each.
        await _browser.WaitForAsync("document.querySelectorAll('#histograms svg').length === 4");
        Assert.Equal(
            [10, 10, 10, 10],
            (await _browser.EvaluateAsync("[...document.querySelectorAll('#histograms svg')].map(svg => svg.querySelectorAll('rect[data-bin]').length)")).EnumerateArray().Select(static n => n.GetInt32()));

        // The search: nine candidates at rung 0, three at rung 1, one at rung 2; the survivors of each rung are the
        // candidates of the next, and the winner is marked.
        await OpenAsync(search);
        await _browser.WaitForAsync("document.querySelectorAll('#search-rungs circle[data-rung]').length > 0");
        Assert.Equal(
            [9, 3, 1],
            (await _browser.EvaluateAsync("[0, 1, 2].map(r => document.querySelectorAll('#search-rungs circle[data-rung=\"' + r + '\"]').length)")).EnumerateArray().Select(static n => n.GetInt32()));
        Assert.Equal(
            [3, 1, 0],
            (await _browser.EvaluateAsync("[0, 1, 2].map(r => document.querySelectorAll('#search-rungs circle[data-rung=\"' + r + '\"][data-survivor=\"true\"]').length)")).EnumerateArray().Select(static n => n.GetInt32()));
        Assert.Equal("2", (await _browser.EvaluateAsync("[...document.querySelectorAll('#search-rungs circle[data-best]')].map(c => c.dataset.rung).pop()")).GetString());

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

        await _browser.NavigateAsync(new Uri(host.BaseAddress + "/"));

        // Serving, read through the host from the service the app calls: the stable version's latency and throughput
        // under the load that still runs.
        await _browser.WaitForAsync("!document.getElementById('serving').hidden && document.querySelector('#latency-m polyline[data-series=\"v1 p99\"]')");
        Assert.Equal(1, await CountAsync("#latency-m polyline[data-series=\"v1 p50\"]"));
        Assert.Equal(1, await CountAsync("#throughput-m polyline[data-series=\"v1\"]"));
        await serving.StopLoadAsync();

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
    public async Task The_timeline_draws_a_fan_out_a_timer_a_retry_a_sub_orchestration_an_event_and_the_failures_and_drift_is_drawn_per_feature()
    {
        await using var host = await TestHost.StartAsync(azurite.ConnectionString, app: TestApps.Worker);
        var id = await host.StartAsync("TimelineSample");
        await host.WaitForStatusAsync(id, static s => s.TryGetProperty("customStatus", out var custom) && custom.ValueKind == JsonValueKind.String && custom.GetString() == "waiting for Go");
        using (await host.PostAsync($"runtime/webhooks/durabletask/instances/{id}/raiseEvent/Go", "\"now\"")) { }
        await host.WaitForStatusAsync(id, static s => TestHost.IsStatus(s, "Completed"));

        await _browser.NavigateAsync(new Uri(host.BaseAddress + "/"));
        await OpenAsync(id);
        await _browser.WaitForAsync("document.querySelector('#timeline')");

        // The fan-out's three bars, the retried activity's failed first attempt and its second, the failed last step.
        Assert.Equal(3, await CountAsync("#timeline rect[data-kind=\"activity\"][data-name=\"Greet\"][data-status=\"completed\"]"));
        Assert.Equal(1, await CountAsync("#timeline rect[data-name=\"Flaky\"][data-status=\"failed\"]:not([data-retry])"));
        Assert.Equal(1, await CountAsync("#timeline rect[data-name=\"Flaky\"][data-status=\"completed\"][data-retry=\"2\"]"));
        Assert.Equal(1, await CountAsync("#timeline rect[data-name=\"Throw\"][data-status=\"failed\"]"));

        // The explicit timer and the retry's delay; the raised event; both failures listed with their reasons.
        Assert.True(await CountAsync("#timeline rect[data-kind=\"timer\"][data-fired=\"true\"]") >= 2);
        Assert.Equal(1, await CountAsync("#timeline circle[data-kind=\"event\"][data-label=\"Go\"]"));
        var failures = (await _browser.EvaluateAsync("[...document.querySelectorAll('#failures li')].map(li => li.textContent).join('|')")).GetString()!;
        Assert.Contains("first attempt fails", failures, StringComparison.Ordinal);
        Assert.Contains("Throw was asked to fail: last step", failures, StringComparison.Ordinal);

        // The sub-orchestration's bar opens it, with its own three activities.
        var child = (await _browser.EvaluateAsync("document.querySelector('#timeline rect[data-kind=\"suborchestration\"]').dataset.instance")).GetString()!;
        await _browser.EvaluateAsync("document.querySelector('#timeline rect[data-kind=\"suborchestration\"]').dispatchEvent(new MouseEvent('click'))");
        await _browser.WaitForAsync($"document.getElementById('detail-id').textContent === '{child}'");
        await _browser.WaitForAsync("document.querySelectorAll('#timeline rect[data-name=\"Greet\"]').length === 3 && !document.querySelector('#timeline rect[data-name=\"Flaky\"]')");
        Assert.Equal("Greetings", (await host.WaitForStatusAsync(child, static s => TestHost.IsStatus(s, "Completed"))).GetProperty("name").GetString());

        // A retraining pipeline's drift (its output's shape): a bar per feature coloured by its verdict, the thresholds.
        var drift = await host.RunToEndAsync("ReturnInput", JsonSerializer.Serialize(new
        {
            drift = new
            {
                version = 3,
                status = "Drift",
                features = new object[]
                {
                    new { name = "f0", psi = (double?)0.42, status = "Significant", samples = 900 },
                    new { name = "f1", psi = (double?)0.04, status = "Stable", samples = 900 },
                    new { name = "f2", psi = (double?)null, status = "Inconclusive", samples = 12 },
                },
                warnThreshold = 0.1,
                alertThreshold = 0.25,
            },
        }));
        await OpenAsync(drift);
        await _browser.WaitForAsync("document.querySelectorAll('#drift rect[data-feature]').length === 3");
        Assert.Equal(
            ["Significant", "Stable", "Inconclusive"],
            (await _browser.EvaluateAsync("[...document.querySelectorAll('#drift rect[data-feature]')].map(r => r.dataset.status)")).EnumerateArray().Select(static s => s.GetString()));
        Assert.True((await _browser.EvaluateAsync(
            "const w = f => Number(document.querySelector('#drift rect[data-feature=\"' + f + '\"]').getAttribute('width')); w('f0') > w('f1') && w('f1') > w('f2')")).GetBoolean());
        Assert.Equal(2, await CountAsync("#drift line[data-threshold]"));
    }

    [Fact]
    public async Task The_list_filters_by_name_status_and_created_time_counts_per_status_and_pages()
    {
        await using var host = await TestHost.StartAsync(azurite.ConnectionString, app: TestApps.Worker);
        var greetings = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            greetings.Add(await host.RunToEndAsync("Greetings", "\"Lisbon\""));
        }

        var waiting = await host.StartAsync("WaitForApproval");
        await host.WaitForStatusAsync(waiting, static s => TestHost.IsStatus(s, "Running"));
        var failed = await host.RunToEndAsync("FailsOnce", null, expected: "Failed");

        await _browser.NavigateAsync(new Uri(host.BaseAddress + "/"));
        await _browser.WaitForAsync("document.querySelector('#total') && document.querySelector('#total').dataset.count === '5'");
        Assert.Equal(("3", "1", "1"), (await StatusCountAsync("Completed"), await StatusCountAsync("Running"), await StatusCountAsync("Failed")));

        // By name (a prefix, any case): the three Greetings runs, and the counts follow the filter.
        await _browser.EvaluateAsync("{ const name = document.getElementById('name'); name.value = 'greet'; name.onkeydown({ key: 'Enter' }); }");
        await _browser.WaitForAsync("document.querySelectorAll('#instances tr').length === 3 && document.querySelector('#total').dataset.count === '3'");
        Assert.Equal(greetings.Order(), (await RowIdsAsync()).Order());

        // A count is a link to its status: Failed shows the one failed run (the name filter cleared first).
        await _browser.EvaluateAsync("document.getElementById('name').value = ''; document.querySelector('#counts a[data-status=\"Failed\"]').click()");
        await _browser.WaitForAsync($"document.querySelectorAll('#instances tr').length === 1 && document.querySelector('tr[data-instance=\"{failed}\"]')");

        // Pages of two: three pages for five instances, forward and back.
        await _browser.EvaluateAsync("{ document.getElementById('status').value = ''; const size = document.getElementById('top'); size.add(new Option('2', '2')); size.value = '2'; size.onchange(); }");
        await _browser.WaitForAsync("document.querySelectorAll('#instances tr').length === 2 && !document.getElementById('next').disabled");
        var seen = new HashSet<string>(await RowIdsAsync());
        await _browser.EvaluateAsync("document.getElementById('next').click()");
        await _browser.WaitForAsync("document.getElementById('page').textContent.startsWith('page 2')");
        await _browser.WaitForAsync("document.querySelectorAll('#instances tr').length === 2");
        seen.UnionWith(await RowIdsAsync());
        await _browser.EvaluateAsync("document.getElementById('next').click()");
        await _browser.WaitForAsync("document.getElementById('page').textContent.startsWith('page 3') && document.querySelectorAll('#instances tr').length === 1");
        seen.UnionWith(await RowIdsAsync());
        Assert.Equal(greetings.Append(waiting).Append(failed).Order(), seen.Order());
        Assert.True((await _browser.EvaluateAsync("document.getElementById('next').disabled")).GetBoolean());
        await _browser.EvaluateAsync("document.getElementById('previous').click()");
        await _browser.WaitForAsync("document.getElementById('page').textContent.startsWith('page 2') && document.querySelectorAll('#instances tr').length === 2");

        // Created from tomorrow: nothing, and counts of nothing.
        await _browser.EvaluateAsync("{ const from = document.getElementById('created-from'); from.value = new Date(Date.now() + 86400000).toISOString().slice(0, 16); from.onchange(); }");
        await _browser.WaitForAsync("document.querySelectorAll('#instances tr').length === 0 && document.querySelector('#total').dataset.count === '0'");
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

    /// <summary>How many elements match <paramref name="selector"/> (no single quotes in it).</summary>
    private async Task<int> CountAsync(string selector) =>
        (await _browser.EvaluateAsync($"document.querySelectorAll('{selector}').length")).GetInt32();

    private async Task<string?> StatusCountAsync(string status) =>
        (await _browser.EvaluateAsync($"document.querySelector('#counts a[data-status=\"{status}\"]').dataset.count")).GetString();

    private async Task<string[]> RowIdsAsync() =>
        [.. (await _browser.EvaluateAsync("[...document.querySelectorAll('#instances tr')].map(row => row.dataset.instance)")).EnumerateArray().Select(static id => id.GetString()!)];

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
