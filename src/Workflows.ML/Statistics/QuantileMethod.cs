using System.Text.Json.Serialization;

namespace Workflows.ML.Statistics;

/// <summary>How the chunked statistics estimate quantiles.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<QuantileMethod>))]
public enum QuantileMethod
{
    /// <summary>
    /// From a fine fixed-bin histogram counted in the second pass over the global range (see
    /// <see cref="HistogramQuantiles"/>): nearly free, value error within one fine bin, rank error the mass of the
    /// bin the quantile falls in (reported). The default.
    /// </summary>
    Histogram,

    /// <summary>
    /// From the mergeable compactor sketch of the first pass (<see cref="QuantileSketch"/>): a rank error bound that
    /// holds for any data, heavy tails and outliers included, at about ten times the cost of decoding the data.
    /// </summary>
    Sketch,
}
