using System.Text.Json.Serialization;

namespace Workflows.ML.Canary;

/// <summary>
/// The state of a check or of a whole analysis run, completed phases ordered from best to worst as Argo Rollouts
/// orders them (Successful, Inconclusive, Error, Failed). A rollout continues on Successful, pauses for a person on
/// Inconclusive and aborts (rolls back) on Error or Failed.
/// </summary>
[JsonConverter(typeof(JsonStringEnumConverter<AnalysisPhase>))]
public enum AnalysisPhase
{
    /// <summary>Not finished: more measurements are to come.</summary>
    Running,

    /// <summary>Finished and passed.</summary>
    Successful,

    /// <summary>Finished without a verdict: pause for a person to promote or abort.</summary>
    Inconclusive,

    /// <summary>Finished because measurements kept erroring: abort.</summary>
    Error,

    /// <summary>Finished with too many failed measurements: abort.</summary>
    Failed,
}
