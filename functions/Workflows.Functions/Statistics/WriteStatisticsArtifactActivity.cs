using Workflows.ML.Data;
using Workflows.ML.Statistics;
using Microsoft.Azure.Functions.Worker;

namespace Workflows.Functions.Statistics;

/// <summary>Writes the stats artifact next to the dataset (see <see cref="StatisticsReport.ArtifactPath"/>) and returns its path.</summary>
public sealed class WriteStatisticsArtifactActivity(IDatasetStorage storage)
{
    /// <summary>Registered name.</summary>
    public const string Name = "WriteStatisticsArtifact";

    /// <summary>Runs the activity; <paramref name="context"/> carries the host's stopping token.</summary>
    [Function(Name)]
    public async Task<string> RunAsync([ActivityTrigger] StatisticsReport input, FunctionContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(input);
        var path = StatisticsReport.ArtifactPath(storage, input.Dataset, input.ChunkPositions);
        await storage.WriteAsync(path, input.ToArtifactJson(), context.CancellationToken);
        return path;
    }
}
