using Microsoft.Extensions.Logging;

namespace Workflows.ML;

/// <summary>
/// Source-generated log messages of the ML building blocks, for failures they handle by falling back. Data values
/// and file contents are never logged; a path only where the message is about that file or dataset.
/// </summary>
internal static partial class MlLog
{
    [LoggerMessage(EventId = 200, Level = LogLevel.Warning, Message = "Dataset {Dataset}: the Parquet footer statistics of {Count} column chunk(s) could not be decoded, the first in {File}; those columns get no footer range, and their histograms are counted in the second statistics pass.")]
    public static partial void FooterStatisticsUnreadable(ILogger logger, Exception exception, string dataset, int count, string file);

    [LoggerMessage(EventId = 201, Level = LogLevel.Warning, Message = "The CUDA driver or device could not be used; statistics run on the SIMD CPU kernel.")]
    public static partial void CudaUnusable(ILogger logger, Exception exception);
}
