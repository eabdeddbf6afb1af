using System.Text.Json.Serialization;

namespace Workflows.ML.Canary;

/// <summary>The outcome of one measurement of a check (Argo Rollouts' measurement phases).</summary>
[JsonConverter(typeof(JsonStringEnumConverter<MeasurementPhase>))]
public enum MeasurementPhase
{
    /// <summary>The value met the threshold.</summary>
    Successful,

    /// <summary>The value missed the threshold.</summary>
    Failed,

    /// <summary>No data, or too few samples to judge: neither a pass nor a failure.</summary>
    Inconclusive,

    /// <summary>The measurement itself failed (the query errored, the data was invalid): never a pass.</summary>
    Error,
}
