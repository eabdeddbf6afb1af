using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;
using Workflows.Functions.Retraining;
using Workflows.ML.Data;
using Xunit;

namespace Workflows.Functions.Tests.Retraining;

/// <summary>The timer's input file: read from under the data root, each way it cannot be used named. The tick itself runs on Azurite in the host's tests.</summary>
public sealed class RetrainingTimerTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("wf-retrain-timer-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private RetrainingTimer Timer() =>
        new(new DataRoot(_folder), new ConfigurationBuilder().Build(), NullLogger<RetrainingTimer>.Instance);

    [Fact]
    public async Task The_input_file_under_the_data_root_is_read_with_the_apps_json_names()
    {
        await File.WriteAllTextAsync(Path.Combine(_folder, "pipeline.json"), """
            { "model": "churn", "dataset": "new", "force": true,
              "training": { "labelColumn": "label", "epochs": 2 },
              "canary": { "steps": [ { "weight": 100, "pause": "00:00:01" } ], "analysisInterval": "00:00:01", "checks": [] } }
            """);

        var input = await Timer().ReadInputAsync("pipeline.json", CancellationToken.None);

        Assert.Equal(("churn", "new", true, 2), (input.Model, input.Dataset, input.Force, input.Training!.Epochs));
        Assert.Equal("retraining-churn", RetrainingTimer.InstanceIdFor(input.Model));
    }

    [Theory]
    [InlineData(null, "WorkflowsRetrainingInput is not set")]
    [InlineData("missing.json", "WorkflowsRetrainingInput 'missing.json' cannot be read")]
    [InlineData("../outside.json", "WorkflowsRetrainingInput '../outside.json' cannot be read")]
    [InlineData("broken.json", "WorkflowsRetrainingInput 'broken.json' cannot be read as the retraining pipeline's input")]
    [InlineData("nomodel.json", "WorkflowsRetrainingInput 'nomodel.json' holds no retraining pipeline input with a model")]
    public async Task An_input_that_cannot_be_used_is_a_clear_error(string? path, string expected)
    {
        await File.WriteAllTextAsync(Path.Combine(_folder, "broken.json"), "{ \"model\": ");
        await File.WriteAllTextAsync(Path.Combine(_folder, "nomodel.json"), "{ \"dataset\": \"new\" }");

        var exception = await Assert.ThrowsAsync<InvalidOperationException>(() => Timer().ReadInputAsync(path, CancellationToken.None));

        Assert.Contains(expected, exception.Message, StringComparison.Ordinal);
    }
}
