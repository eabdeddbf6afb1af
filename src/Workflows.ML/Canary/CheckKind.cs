using System.Text.Json.Serialization;

namespace Workflows.ML.Canary;

/// <summary>What a canary check measures and how its threshold reads.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<CheckKind>))]
public enum CheckKind
{
    /// <summary>The candidate's share of failed requests; passes at or below the threshold (0 to 1).</summary>
    ErrorRate,

    /// <summary>The candidate's 99th-percentile latency in milliseconds; passes at or below the threshold (&gt; 0).</summary>
    LatencyP99,

    /// <summary>Share of shadowed requests where candidate and stable disagree; passes at or below the threshold (0 to 1).</summary>
    ShadowDisagreement,

    /// <summary>PSI of the candidate's predictions against the stable model's; passes at or below the threshold (&gt; 0).</summary>
    PsiVsStable,

    /// <summary>Accuracy on labelled feedback; passes at or above the threshold (0 to 1) once <see cref="CanaryCheck.MinSamples"/> labels arrived.</summary>
    LiveAccuracy,

    /// <summary>
    /// Candidate latencies against stable latencies by the Mann–Whitney U test: fails when the candidate is slower at
    /// significance <see cref="CanaryCheck.Alpha"/> and its Hodges–Lehmann shift exceeds the threshold, an effect size
    /// relative to the stable median (0.1: 10 % slower).
    /// </summary>
    LatencyMannWhitney,
}
