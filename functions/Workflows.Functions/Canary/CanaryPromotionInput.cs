using Workflows.ML.Canary;

namespace Workflows.Functions.Canary;

/// <summary>One traffic step of a canary promotion.</summary>
/// <param name="Weight">Percent of request keys routed to the candidate, 0 to 100; steps increase and the last is 100.</param>
/// <param name="Pause">Time at this weight, analysed window by window (whole seconds; at least one window is analysed).</param>
/// <param name="Manual">Whether the step also waits, analysis going on, for an <c>approve</c> event before the next step.</param>
public sealed record CanaryStepInput(int Weight, TimeSpan Pause, bool Manual = false);

/// <summary>
/// Input of <see cref="CanaryPromotionOrchestrator"/>. See docs/workflows/canary-promotion.md.
/// </summary>
/// <param name="Model">The model's name, in the registry and at the prediction service.</param>
/// <param name="CandidateVersion">The version to promote.</param>
/// <param name="Steps">Traffic steps; weights increase and the last is 100.</param>
/// <param name="Checks">The analysis's checks with their thresholds and limits (<see cref="CanaryCheck"/>).</param>
/// <param name="AnalysisInterval">Length of each analysis window (whole seconds, at least 1).</param>
/// <param name="StableVersion">The version serving now; default: the service's stable version (when given, it must be that one).</param>
/// <param name="PostPromotionWindow">How long analysis goes on after promotion, able to roll back (whole seconds; zero: none).</param>
/// <param name="OnFailure"><c>rollback</c> (default): a failed analysis sends all traffic back to the stable version; <c>freeze</c>: the weights stay where they are.</param>
/// <param name="ShadowShare">With a <see cref="CheckKind.ShadowDisagreement"/> check: the share of requests mirrored to the candidate below 100 % (0 to 1].</param>
public sealed record CanaryPromotionInput(
    string Model,
    int CandidateVersion,
    IReadOnlyList<CanaryStepInput> Steps,
    IReadOnlyList<CanaryCheck> Checks,
    TimeSpan AnalysisInterval,
    int? StableVersion = null,
    TimeSpan PostPromotionWindow = default,
    string OnFailure = CanaryPromotionInput.Rollback,
    double ShadowShare = 0.1)
{
    /// <summary><see cref="OnFailure"/>: send all traffic back to the stable version.</summary>
    public const string Rollback = "rollback";

    /// <summary><see cref="OnFailure"/>: leave the weights as they are.</summary>
    public const string Freeze = "freeze";

    /// <summary>The check kinds the prediction service can measure (its metrics, and its prediction samples for PSI).</summary>
    public static readonly IReadOnlyList<CheckKind> SupportedKinds =
        [CheckKind.ErrorRate, CheckKind.LatencyP99, CheckKind.LiveAccuracy, CheckKind.LatencyMannWhitney, CheckKind.ShadowDisagreement, CheckKind.PsiVsStable];

    /// <summary>Whether a check compares the candidate with the stable version's traffic (measured only while the stable version has some).</summary>
    public static bool Compares(CheckKind kind) => kind is CheckKind.LatencyMannWhitney or CheckKind.ShadowDisagreement or CheckKind.PsiVsStable;

    /// <summary>Whether the candidate shadows the stable version's requests (there is a shadow disagreement check).</summary>
    public bool Shadows => Checks?.Any(c => c?.Kind == CheckKind.ShadowDisagreement) ?? false;

    /// <summary>The spec the analysis building blocks check, with the stable version resolved.</summary>
    public CanarySpec ToSpec(int stableVersion) =>
        new(Model, stableVersion, CandidateVersion, Steps?.Select(s => s is null ? null! : new CanaryStep(s.Weight, s.Pause)).ToList() ?? [], Checks ?? []);

    /// <summary>
    /// Every problem found without looking anything up, each naming its field; <paramref name="stableVersion"/> is the
    /// stable version (the input's or the service's), or <see langword="null"/> while it is not known (then it is not
    /// checked, nor compared with the candidate).
    /// </summary>
    public IReadOnlyList<string> Validate(int? stableVersion)
    {
        var errors = new List<string>();
        var spec = ToSpec(stableVersion ?? 0);
        errors.AddRange(spec.Validate().Where(e => stableVersion is not null || !e.StartsWith("stableVersion:", StringComparison.Ordinal)));
        if (AnalysisInterval < TimeSpan.FromSeconds(1) || !WholeSeconds(AnalysisInterval))
        {
            errors.Add($"analysisInterval: must be a whole number of seconds, at least 1; got {AnalysisInterval}.");
        }

        for (var i = 0; i < (Steps?.Count ?? 0); i++)
        {
            if (Steps![i] is { } step && !WholeSeconds(step.Pause))
            {
                errors.Add($"steps[{i}].pause: must be a whole number of seconds; got {step.Pause}.");
            }
        }

        if (PostPromotionWindow < TimeSpan.Zero || !WholeSeconds(PostPromotionWindow))
        {
            errors.Add($"postPromotionWindow: must be a whole number of seconds, at least 0; got {PostPromotionWindow}.");
        }

        if (OnFailure is not (Rollback or Freeze))
        {
            errors.Add($"onFailure: must be '{Rollback}' or '{Freeze}'; got '{OnFailure}'.");
        }

        for (var i = 0; i < (Checks?.Count ?? 0); i++)
        {
            if (Checks![i] is { } check && Enum.IsDefined(check.Kind) && !SupportedKinds.Contains(check.Kind))
            {
                errors.Add($"checks[{i}].kind: {check.Kind} is not measured from the prediction service.");
            }
        }

        if (Shadows && !(ShadowShare is > 0 and <= 1))
        {
            errors.Add($"shadowShare: a shadow disagreement check needs a share of requests above 0, at most 1; got {ShadowShare}.");
        }

        return errors;
    }

    /// <summary>Throws <see cref="ArgumentException"/> listing every problem <see cref="Validate"/> finds.</summary>
    public void EnsureValid(int? stableVersion)
    {
        var errors = Validate(stableVersion);
        if (errors.Count > 0)
        {
            throw new ArgumentException("invalid canary promotion: " + string.Join(" ", errors));
        }
    }

    private static bool WholeSeconds(TimeSpan span) => span.Ticks % TimeSpan.TicksPerSecond == 0;
}
