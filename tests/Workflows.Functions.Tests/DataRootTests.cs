using Microsoft.DurableTask;
using DurableTask.Core.History;
using Microsoft.DurableTask.Client;
using Workflows.Functions.Datasets;
using Workflows.Functions.Statistics;
using Workflows.Functions.Training;
using Workflows.ML.Data;
using Workflows.ML.Kernels;
using Workflows.Testing;
using Xunit;
using static Workflows.Functions.Tests.TestData;

namespace Workflows.Functions.Tests;

/// <summary>
/// Every workflow input that names a path stays inside the data root: a path that leaves it fails the run naming the
/// field and the rule before any activity is scheduled, a symbolic link out of it fails where the path is used, and
/// nothing is written outside. Relative paths are the normal way in.
/// </summary>
public sealed class DataRootTests : IDisposable
{
    private readonly string _temp = Path.Combine(Path.GetTempPath(), "workflows-dataroot-" + Guid.NewGuid().ToString("N"));
    private readonly DataRoot _root;
    private readonly string _outside;
    private IList<HistoryEvent> _history = [];

    public DataRootTests()
    {
        _root = new DataRoot(Path.Combine(_temp, "root"));
        _outside = Directory.CreateDirectory(Path.Combine(_temp, "outside")).FullName;
    }

    public static TheoryData<string, string> EscapingPaths => new()
    {
        { "OUTSIDE", "must lie inside the data root" },
        { "../outside", "'..' segments" },
        { "sets/../../outside", "'..' segments" },
        { "/etc", "must lie inside the data root" },
    };

    [Theory]
    [MemberData(nameof(EscapingPaths))]
    public async Task GenerateDataset_DestinationOutsideTheRoot_FailsBeforeAnyChunkIsScheduled(string destination, string rule)
    {
        var result = await RunAsync(GenerateDatasetOrchestrator.Name, new GenerateDatasetInput(100, Features: 3, Informative: 2, ChunkRows: 10, Seed: 1, Destination: Given(destination)));

        AssertRefused(result, $"destination '{Given(destination)}' is refused", rule);
    }

    [Theory]
    [MemberData(nameof(EscapingPaths))]
    public async Task ChunkedStatistics_DatasetOutsideTheRoot_FailsBeforeAnyActivityIsScheduled(string dataset, string rule)
    {
        var result = await RunAsync(ChunkedStatisticsOrchestrator.Name, new ChunkedStatisticsInput(Given(dataset), "label"));

        AssertRefused(result, $"dataset '{Given(dataset)}' is refused", rule);
    }

    public static TheoryData<string, string, string> EpochTrainingEscapes
    {
        get
        {
            var data = new TheoryData<string, string, string>();
            foreach (var input in new[] { "dataset", "holdout", "statsArtifact" })
            {
                foreach (var (path, rule) in new[] { ("OUTSIDE/x", "must lie inside the data root"), ("/etc/x", "must lie inside the data root"), ("../outside/x", "'..' segments"), ("sets/../../outside/x", "'..' segments") })
                {
                    data.Add(input, path, rule);
                }
            }

            return data;
        }
    }

    [Theory]
    [MemberData(nameof(EpochTrainingEscapes))]
    public async Task EpochTraining_PathOutsideTheRoot_FailsBeforeAnyWorkIsScheduled(string field, string path, string rule)
    {
        var escape = path.Replace("OUTSIDE", _outside, StringComparison.Ordinal);
        var input = field switch
        {
            "dataset" => new EpochTrainingInput(escape, "label", "demo"),
            "holdout" => new EpochTrainingInput("sets/demo", "label", "demo", Holdout: escape),
            _ => new EpochTrainingInput("sets/demo", "label", "demo", StatsArtifact: escape),
        };

        var result = await RunAsync(EpochTrainingOrchestrator.Name, input);

        AssertRefused(result, $"{field} '{escape}' is refused", rule);
    }

    [Theory]
    [InlineData("dataset")]
    [InlineData("holdout")]
    [InlineData("statsArtifact")]
    public async Task EpochTraining_PathThroughALinkOutOfTheRoot_FailsNamingTheRuleAndWritesNothingOutside(string field)
    {
        var generator = new ML.Generation.ClassificationGenerator(new ML.Generation.ClassificationSpec(3, 2, 0, Seed: 1));
        for (var chunk = 0; chunk < 4; chunk++)
        {
            await WriteParquetChunkAsync(generator, chunk, 50, Path.Combine(_root.FullPath, "sets", "demo", $"part-{chunk:D5}.parquet"));
            await WriteParquetChunkAsync(generator, chunk, 50, Path.Combine(_outside, $"part-{chunk:D5}.parquet"));
        }

        await File.WriteAllTextAsync(Path.Combine(_outside, "stats.json"), "{}");
        Directory.CreateSymbolicLink(Path.Combine(_root.FullPath, "escape"), _outside);
        var before = Directory.GetFileSystemEntries(_outside).Order(StringComparer.Ordinal).ToList();
        var input = field switch
        {
            "dataset" => new EpochTrainingInput("escape", "label", "demo", Epochs: 1),
            "holdout" => new EpochTrainingInput("sets/demo", "label", "demo", Holdout: "escape", Epochs: 1),
            _ => new EpochTrainingInput("sets/demo", "label", "demo", StatsArtifact: "escape/stats.json", Epochs: 1),
        };

        var result = await RunAsync(EpochTrainingOrchestrator.Name, input);

        AssertFailed(result, "is refused: a path may not lead out of the data root through a symbolic link");
        Assert.Equal(before, Directory.GetFileSystemEntries(_outside).Order(StringComparer.Ordinal).ToList());
        Assert.False(Directory.Exists(Path.Combine(_root.FullPath, "models", "demo")), "no model may be registered from data read through the link");
    }

    [Theory]
    [InlineData("../../etc/x", "start with a letter or digit")]
    [InlineData("a/b", "may only contain letters, digits")]
    [InlineData(".hidden", "start with a letter or digit")]
    public async Task EpochTraining_ModelNameThatNamesAPath_FailsBeforeAnyWorkIsScheduled(string modelName, string rule)
    {
        var result = await RunAsync(EpochTrainingOrchestrator.Name, new EpochTrainingInput("sets/demo", "label", modelName));

        AssertRefused(result, $"Model name '{modelName}'", rule);
    }

    [Fact]
    public async Task GenerateDataset_DestinationThroughALinkOutOfTheRoot_FailsNamingTheRuleAndWritesNothingOutside()
    {
        Directory.CreateSymbolicLink(Path.Combine(_root.FullPath, "escape"), _outside);

        var result = await RunAsync(GenerateDatasetOrchestrator.Name, new GenerateDatasetInput(40, Features: 3, Informative: 2, ChunkRows: 10, Seed: 1, Destination: "escape/demo"));

        AssertFailed(result, "destination 'escape/demo' is refused");
        AssertFailed(result, "is refused: a path may not lead out of the data root through a symbolic link");
        Assert.Empty(Directory.EnumerateFileSystemEntries(_outside));
    }

    [Fact]
    public async Task ChunkedStatistics_DatasetThroughALinkOutOfTheRoot_FailsNamingTheRule()
    {
        await WriteParquetChunkAsync(new ML.Generation.ClassificationGenerator(new ML.Generation.ClassificationSpec(3, 2, 0, Seed: 1)), 0, 10, Path.Combine(_outside, "part-00000.parquet"));
        Directory.CreateSymbolicLink(Path.Combine(_root.FullPath, "escape"), _outside);

        var result = await RunAsync(ChunkedStatisticsOrchestrator.Name, new ChunkedStatisticsInput("escape", "label"));

        AssertFailed(result, "dataset 'escape' is refused: a path may not lead out of the data root through a symbolic link");
    }

    [Fact]
    public async Task GenerateDataset_PercentEncodedDots_AreAFolderNameInsideTheRoot()
    {
        // JSON bodies are not URL-decoded: "%2e%2e" is a folder name like any other, inside the root.
        var result = await RunAsync(GenerateDatasetOrchestrator.Name, new GenerateDatasetInput(20, Features: 3, Informative: 2, ChunkRows: 10, Seed: 1, Destination: "%2e%2e/outside"));

        Assert.Equal(OrchestrationRuntimeStatus.Completed, result.RuntimeStatus);
        Assert.Equal(2, Directory.GetFiles(Path.Combine(_root.FullPath, "%2e%2e", "outside"), "*.parquet").Length);
        Assert.Empty(Directory.EnumerateFileSystemEntries(_outside));
    }

    [Fact]
    public async Task GenerateThenStatistics_RelativePaths_WriteAndReadInsideTheRoot()
    {
        var generated = await RunAsync(GenerateDatasetOrchestrator.Name, new GenerateDatasetInput(40, Features: 3, Informative: 2, ChunkRows: 10, Seed: 1, Destination: "sets/demo"));
        var stats = await RunAsync(ChunkedStatisticsOrchestrator.Name, new ChunkedStatisticsInput("sets/demo", "label"));

        Assert.Equal(OrchestrationRuntimeStatus.Completed, generated.RuntimeStatus);
        Assert.Equal(OrchestrationRuntimeStatus.Completed, stats.RuntimeStatus);
        Assert.Equal(4, Directory.GetFiles(Path.Combine(_root.FullPath, "sets", "demo"), "*.parquet").Length);
        var output = stats.ReadOutputAs<ChunkedStatisticsOutput>()!;
        Assert.Equal("sets/demo/_statistics.json", output.ArtifactPath);
        Assert.True(File.Exists(Path.Combine(_root.FullPath, "sets", "demo", "_statistics.json")));
        Assert.Empty(Directory.EnumerateFileSystemEntries(_outside));
    }

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    private string Given(string path) => path == "OUTSIDE" ? _outside : path;

    private async Task<OrchestrationMetadata> RunAsync(string name, object input)
    {
        await using var harness = await SdkHarness.StartAsync(r => r.AddWorkflowFunctions(kernel: SimdStatisticsKernel.Instance, dataRoot: _root));
        var result = await harness.RunAsync(name, input);
        _history = await harness.Client.GetOrchestrationHistoryAsync(result.InstanceId);
        return result;
    }

    private void AssertRefused(OrchestrationMetadata result, string input, string rule)
    {
        AssertFailed(result, input);
        AssertFailed(result, rule);
        Assert.DoesNotContain(_history, e => e is TaskScheduledEvent or SubOrchestrationInstanceCreatedEvent or TimerCreatedEvent);
        Assert.Empty(Directory.EnumerateFileSystemEntries(_outside));
        Assert.Empty(Directory.EnumerateFileSystemEntries(_root.FullPath));
    }
}
