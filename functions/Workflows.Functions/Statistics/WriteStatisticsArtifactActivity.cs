using Workflows.Durable;
using Workflows.ML.Data;
using Workflows.ML.Statistics;

namespace Workflows.Functions.Statistics;

/// <summary>Writes the stats artifact next to the dataset (see <see cref="StatisticsReport.ArtifactPath"/>) and returns its path.</summary>
[DurableTask(Name)]
public sealed class WriteStatisticsArtifactActivity(IDatasetStorage storage) : TaskActivity<StatisticsReport, string>
{
    /// <summary>Registered name.</summary>
    public const string Name = "WriteStatisticsArtifact";

    public override async Task<string> RunAsync(TaskActivityContext context, StatisticsReport input)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(input);
        var path = StatisticsReport.ArtifactPath(storage, input.Dataset, input.ChunkPositions);
        await storage.WriteAsync(path, input.ToArtifactJson(), context.CancellationToken);
        return path;
    }
}
