using System.Text.Json.Serialization;

namespace Workflows.ML.Monitoring;

/// <summary>How far a distribution moved from its reference, from best to worst.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<DriftStatus>))]
public enum DriftStatus
{
    /// <summary>PSI below the moderate threshold.</summary>
    Stable,

    /// <summary>Too few values to tell (below the minimum sample, or no reference values): never a pass.</summary>
    Inconclusive,

    /// <summary>PSI at or above the moderate threshold and below the significant one.</summary>
    Moderate,

    /// <summary>PSI at or above the significant threshold.</summary>
    Significant,
}
