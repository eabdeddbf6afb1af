using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Workflows.ML.Data;
using Workflows.ML.Registry;
using Workflows.ML.Statistics;
using Workflows.Testing;
using Xunit;

namespace Workflows.Host.Tests;

/// <summary>The README's datasets walkthrough over real HTTP: a host on Azurite generates a dataset, then computes its statistics.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class DatasetWorkflowTests(AzuriteFixture azurite) : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("workflows-host-data-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public async Task GenerateDatasetThenChunkedStatistics_OverHttp_CompletesWithStatisticsOfEveryRowAndWritesArtifact()
    {
        await using var host = await StartAsync();
        const string destination = "demo";

        var generated = await RunAsync(host, "GenerateDataset", new { rows = 3_000, features = 5, informative = 2, chunkRows = 500, seed = 7, destination });
        var statistics = await RunAsync(host, "ChunkedStatistics", new
        {
            dataset = destination, labelColumn = "label", histogramBins = 10, quantiles = new[] { 0.1, 0.5, 0.9 }, chunksPerActivity = 2,
        });

        Assert.Equal(3_000, generated.GetProperty("rows").GetInt64());
        var report = statistics.GetProperty("statistics");
        Assert.Equal(3_000, report.GetProperty("rows").GetInt64());
        Assert.Equal(6, report.GetProperty("chunks").GetInt32());
        Assert.Equal(3_000, report.GetProperty("labelDistribution").EnumerateObject().Sum(static p => p.Value.GetInt64()));
        var columns = report.GetProperty("columns").EnumerateArray().ToArray();
        Assert.Equal(5, columns.Length);
        foreach (var column in columns)
        {
            Assert.Equal(3_000, column.GetProperty("count").GetInt64());
            Assert.Equal(3_000, column.GetProperty("histogram").GetProperty("counts").EnumerateArray().Sum(static c => c.GetInt64()));
            var quantiles = column.GetProperty("quantiles").EnumerateArray().Select(static q => q.GetProperty("value").GetDouble()).ToArray();
            Assert.Equal(3, quantiles.Length);
            Assert.True(column.GetProperty("min").GetDouble() <= quantiles[0] && quantiles[0] <= quantiles[1] && quantiles[1] <= quantiles[2] && quantiles[2] <= column.GetProperty("max").GetDouble());
            Assert.True(column.GetProperty("quantileMaxValueError").GetDouble() > 0);
        }

        var artifact = statistics.GetProperty("artifactPath").GetString()!;
        Assert.Equal($"{destination}/{StatisticsReport.ArtifactFileName}", artifact);
        Assert.Equal(3_000, StatisticsReport.FromArtifactJson(await File.ReadAllBytesAsync(Path.Combine(_folder, artifact))).Rows);
    }

    [Fact]
    public async Task GenerateDatasetThenEpochTraining_OverHttp_RegistersAnOnnxModelWithItsLearningCurve()
    {
        await using var host = await StartAsync();
        const string destination = "train";
        await RunAsync(host, "GenerateDataset", new { rows = 4_000, features = 6, informative = 3, chunkRows = 500, seed = 3, destination });

        var output = await RunAsync(host, "EpochTraining", new
        {
            dataset = destination, labelColumn = "label", modelName = "host-demo", holdoutFraction = 0.25, epochs = 3, learningRate = 0.5, parallelism = 2, seed = 5,
        });

        Assert.Equal("host-demo", output.GetProperty("modelName").GetString());
        Assert.Equal(1, output.GetProperty("version").GetInt32());
        var curve = output.GetProperty("learningCurve").EnumerateArray().ToArray();
        Assert.Equal(3, curve.Length);
        var holdout = curve[^1].GetProperty("holdout");
        Assert.Equal(1_000, holdout.GetProperty("rows").GetInt64());
        // Balanced classes, 3 informative of 6 features: a learned model, not a majority vote (0.755 / 0.805 today).
        Assert.True(holdout.GetProperty("accuracy").GetDouble() > 0.7 && holdout.GetProperty("rocAuc").GetDouble() > 0.75, $"holdout {holdout}");
        Assert.Equal(2, output.GetProperty("holdoutChunks").GetArrayLength());
        // The app's default registry: a local folder, models/ under the data root.
        var registry = new LocalFolderModelRegistry(Path.Combine(_folder, "models"));
        var model = await registry.GetAsync("host-demo", 1);
        Assert.NotNull(model);
        Assert.Equal("onnx", model.Format);
        Assert.True(File.Exists(Path.Combine(_folder, output.GetProperty("artifactPath").GetString()!)));
    }

    /// <summary>A host on Azurite running the product's app with its data root (app setting) in this test's folder.</summary>
    private Task<TestHost> StartAsync() =>
        TestHost.StartAsync(azurite.ConnectionString, settings: $"{DataRoot.Setting}={_folder}");

    /// <summary>Starts <paramref name="name"/> through the generic starter, polls its statusQueryGetUri and returns its output.</summary>
    private static async Task<JsonElement> RunAsync(TestHost host, string name, object input)
    {
        using var response = await host.PostAsync($"api/orchestrators/{name}", JsonSerializer.Serialize(input));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, $"start of {name} answered {(int)response.StatusCode}: {body}");
        Assert.True(JsonDocument.Parse(body).RootElement.TryGetProperty("statusQueryGetUri", out var link), $"start of {name} answered {body}");
        var statusUri = link.GetString()!;
        var status = await host.WaitForCompletionAsync(statusUri);
        Assert.True(TestHost.IsStatus(status, "Completed"), $"{name} ended {status}");
        return status.GetProperty("output");
    }
}
