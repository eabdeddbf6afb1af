using Microsoft.Azure.Functions.Worker;
using System.Globalization;
using System.Text.Json;
using Microsoft.DurableTask;
using Workflows.ML.Canary;
using Workflows.Functions.Orchestration;

namespace Workflows.Functions.Canary;

/// <summary>
/// Moves a model's traffic from its stable version to a candidate step by step, analysing the candidate window by
/// window, and rolls back by itself when the analysis fails (docs/workflows/canary-promotion.md). Per step: set the
/// weight at the prediction service, wait for each window with a durable timer, then an activity measures every check
/// over that window; the measurements accumulate into one analysis run judged by <see cref="AnalysisEvaluator"/>
/// (Argo Rollouts' rules with failureLimit, inconclusiveLimit and consecutiveErrorLimit). Failed or Error rolls back
/// (or freezes), Inconclusive holds for an <c>approve</c> or <c>abort</c> event. After the last step the run is judged
/// as terminated; a Successful run promotes the candidate, and analysis goes on for <c>postPromotionWindow</c>, still
/// able to roll back. Every measurement is an activity's output and every decision is in the output, so the history
/// is the audit trail and a replay decides the same.
/// </summary>
public sealed class CanaryPromotionOrchestrator : TaskOrchestrator<CanaryPromotionInput, CanaryPromotionOutput>
{
    /// <summary>Registered name.</summary>
    public const string Name = "CanaryPromotion";

    /// <summary>The orchestrator as a function: <see cref="TaskFunctions.RunOrchestratorAsync{TOrchestrator, TInput, TOutput}"/>.</summary>
    [Function(Name)]
    public static Task<CanaryPromotionOutput> RunFunctionAsync([OrchestrationTrigger] TaskOrchestrationContext context, FunctionContext executionContext) =>
        TaskFunctions.RunOrchestratorAsync<CanaryPromotionOrchestrator, CanaryPromotionInput, CanaryPromotionOutput>(context, executionContext);

    /// <inheritdoc />
    public override async Task<CanaryPromotionOutput> RunAsync(TaskOrchestrationContext context, CanaryPromotionInput input)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(input, "input (model, candidateVersion, steps, checks, analysisInterval...)");
        input.EnsureValid(input.StableVersion);
        context.SetCustomStatus(new CanaryStatus("validating", -1, 0, false, string.Empty, null));
        var target = await context.CallActivityAsync<CanaryTarget>(
            ValidateCanaryActivity.Name, new ValidateCanaryInput(input.Model, input.CandidateVersion, input.StableVersion));
        if (target.Problems.Count > 0 || target.StableVersion is not { } stable)
        {
            throw new ArgumentException("invalid canary promotion: " + string.Join(" ", target.Problems));
        }

        input.EnsureValid(stable);
        return await new CanaryRun(context, input, stable).RunAsync();
    }

    /// <summary>One execution's state: the steps so far, the current analysis run's measurements, the events' waiters.</summary>
    private sealed class CanaryRun
    {
        /// <summary>Routing changes are idempotent: 4 attempts, 1, 2 and 4 s apart.</summary>
        private static readonly TaskOptions Retried = TaskOptions.FromRetryPolicy(new RetryPolicy(4, TimeSpan.FromSeconds(1), 2.0));

        private readonly TaskOrchestrationContext _context;
        private readonly CanaryPromotionInput _input;
        private readonly int _stable;
        private readonly List<CanaryStepRecord> _steps = [];
        private readonly List<CanaryWindowAnalysis> _postPromotion = [];
        private readonly List<CanaryDecision> _decisions = [];
        private Dictionary<string, IReadOnlyList<Measurement>> _measurements = new(StringComparer.Ordinal);
        private Task<object?> _approve;
        private Task<object?> _abort;
        private Task<object?> _pause;
        private Task<object?> _resume;
        private string _phase = "steps";
        private string _waiting = string.Empty;
        private int _step = -1;
        private int _weight;
        private int _stableAtEnd;
        private bool _paused;
        private bool _approved;
        private CanaryWindowAnalysis? _last;

        public CanaryRun(TaskOrchestrationContext context, CanaryPromotionInput input, int stable)
        {
            _context = context;
            _input = input;
            _stable = stable;
            _stableAtEnd = stable;
            _approve = context.WaitForExternalEvent<object?>(CanaryEvents.Approve);
            _abort = context.WaitForExternalEvent<object?>(CanaryEvents.Abort);
            _pause = context.WaitForExternalEvent<object?>(CanaryEvents.Pause);
            _resume = context.WaitForExternalEvent<object?>(CanaryEvents.Resume);
        }

        private TimeSpan Interval => _input.AnalysisInterval;

        public async Task<CanaryPromotionOutput> RunAsync()
        {
            Decide("start", $"model '{_input.Model}': stable {_stable}, candidate {_input.CandidateVersion}, steps {string.Join(", ", _input.Steps.Select(s => s.Weight + (s.Manual ? " % (manual)" : " %")))}, a window every {Seconds(Interval)}, on failure {_input.OnFailure}.");
            for (var i = 0; i < _input.Steps.Count; i++)
            {
                _step = i;
                var step = _input.Steps[i];
                try
                {
                    await SetWeightAsync(step.Weight);
                }
                catch (TaskFailedException failure)
                {
                    return await RoutingFailedAsync($"setting the weight to {step.Weight} % failed: {failure.FailureDetails.ErrorMessage}");
                }

                var analyses = new List<CanaryWindowAnalysis>();
                _steps.Add(new CanaryStepRecord(i, step.Weight, step.Manual, analyses));
                if (await RunStepAsync(step, analyses) is { } ended)
                {
                    return ended;
                }
            }

            // The run ends with the last step: a check without one Successful measurement is not Successful.
            var verdict = Verdict(_input.Checks);
            Decide("analysis", $"the run at the last step: {verdict.Phase}. {verdict.Message}".TrimEnd());
            if (await ActOnAsync(verdict) is { } stopped)
            {
                return stopped;
            }

            _phase = "promoting";
            try
            {
                var route = await _context.CallActivityAsync<ServingRoute>(
                    PromoteCanaryActivity.Name, new CanaryVersionsInput(_input.Model, _stable, _input.CandidateVersion), Retried);
                _stableAtEnd = route.Stable;
            }
            catch (TaskFailedException failure)
            {
                return await RoutingFailedAsync($"promoting version {_input.CandidateVersion} failed: {failure.FailureDetails.ErrorMessage}");
            }

            Decide("promote", $"version {_input.CandidateVersion} is stable at the prediction service.");
            return await PostPromotionAsync();
        }

        private async Task<CanaryPromotionOutput?> RunStepAsync(CanaryStepInput step, List<CanaryWindowAnalysis> analyses)
        {
            _approved = false;
            var remaining = step.Pause;
            var windows = 0;
            var from = _context.CurrentUtcDateTime;
            while (true)
            {
                if (windows > 0 && !_paused && (step.Manual ? remaining <= TimeSpan.Zero && _approved : remaining <= TimeSpan.Zero || _approved))
                {
                    return null;
                }

                var counts = !_paused && remaining > TimeSpan.Zero;
                var length = counts ? Min(Interval, remaining) : Interval;
                _waiting = _paused ? "resume (analysis goes on)" : step.Manual && !counts ? "approve (analysis goes on)" : "the window's end";
                var to = from + length;
                if (await WaitUntilAsync(to) is { } abort)
                {
                    return await AbortAsync(abort);
                }

                remaining -= counts ? length : TimeSpan.Zero;
                windows++;
                if (await AnalyzeAsync(from, to, step.Weight, analyses, ChecksAt(step.Weight)) is { } ended)
                {
                    return ended;
                }

                from = NextFrom(to);
            }
        }

        private async Task<CanaryPromotionOutput> PostPromotionAsync()
        {
            _phase = "post-promotion";
            _measurements = new(StringComparer.Ordinal);
            var checks = ChecksAt(100, promoted: true);
            if (_input.PostPromotionWindow > TimeSpan.Zero && checks.Count > 0)
            {
                var remaining = _input.PostPromotionWindow;
                var from = _context.CurrentUtcDateTime;
                while (remaining > TimeSpan.Zero)
                {
                    var length = Min(Interval, remaining);
                    _waiting = "the window's end";
                    var to = from + length;
                    if (await WaitUntilAsync(to) is { } abort)
                    {
                        return await AbortAsync(abort);
                    }

                    remaining -= length;
                    if (await AnalyzeAsync(from, to, 100, _postPromotion, checks) is { } ended)
                    {
                        return ended;
                    }

                    from = NextFrom(to);
                }

                var verdict = Verdict(checks);
                Decide("analysis", $"the run after promotion: {verdict.Phase}. {verdict.Message}".TrimEnd());
                if (await ActOnAsync(verdict) is { } stopped)
                {
                    return stopped;
                }
            }

            return Finish(
                CanaryOutcome.Promoted,
                $"version {_input.CandidateVersion} passed every step's analysis{(_postPromotion.Count > 0 ? " and " + _postPromotion.Count.ToString(CultureInfo.InvariantCulture) + " windows after promotion" : string.Empty)}.",
                []);
        }

        /// <summary>
        /// The checks measured at <paramref name="weight"/>: all of them, except the comparisons with the stable version
        /// (Mann–Whitney, shadow disagreement) once it gets no traffic (at 100 % and after promotion).
        /// </summary>
        private List<CanaryCheck> ChecksAt(int weight, bool promoted = false) =>
            [.. _input.Checks.Where(c => !CanaryPromotionInput.Compares(c.Kind) || (weight < 100 && !promoted))];

        private async Task<CanaryPromotionOutput?> AnalyzeAsync(DateTime from, DateTime to, int weight, List<CanaryWindowAnalysis> analyses, List<CanaryCheck> checks)
        {
            _waiting = "the analysis";
            SetStatus();
            IReadOnlyList<CanaryCheckMeasurement> measured;
            try
            {
                measured = await _context.CallActivityAsync<IReadOnlyList<CanaryCheckMeasurement>>(
                    AnalyzeCanaryWindowActivity.Name,
                    new AnalyzeCanaryWindowInput(_input.Model, _stable, _input.CandidateVersion, checks, from, to));
            }
            catch (TaskFailedException failure)
            {
                // The analysis itself failed: an error for every check, never a pass, and the limits decide.
                var error = MetricObservation.Failure($"the analysis failed: {failure.FailureDetails.ErrorMessage}");
                measured = [.. checks.Select(c => new CanaryCheckMeasurement(c.Name, c.Kind, 0, c.Measure(error)))];
            }

            foreach (var check in measured)
            {
                _measurements[check.Name] = [.. _measurements.GetValueOrDefault(check.Name) ?? [], check.Measurement];
            }

            var run = AnalysisEvaluator.AssessRun(Measured(_phase == "post-promotion" ? checks : _input.Checks), _measurements);
            var analysis = new CanaryWindowAnalysis(from, to, weight, measured, run.Phase, run.Message);
            analyses.Add(analysis);
            _last = analysis;
            Decide("analysis", $"{from:O} to {to:O} at {weight} %: {string.Join("; ", measured.Select(m => $"{m.Name} {m.Measurement.Phase} ({m.Measurement.Message})"))} -> run {run.Phase}.");
            return await ActOnAsync(run);
        }

        /// <summary>
        /// The checks measured in the current run. A check is measured in every window where it applies, so one without
        /// measurements never applied (the Mann–Whitney comparison in a run at 100 % only) and is not judged.
        /// </summary>
        private List<CanaryCheck> Measured(IEnumerable<CanaryCheck> checks) => [.. checks.Where(c => _measurements.ContainsKey(c.Name))];

        /// <summary>The current run judged as terminated; Inconclusive when no check could be measured.</summary>
        private AnalysisRunResult Verdict(IEnumerable<CanaryCheck> checks)
        {
            var measured = Measured(checks);
            return measured.Count == 0
                ? new AnalysisRunResult(AnalysisPhase.Inconclusive, [], "no check could be measured in this run.")
                : AnalysisEvaluator.AssessRun(measured, _measurements, terminate: true);
        }

        /// <summary>Failed or Error: roll back or freeze; Inconclusive: hold for a person, then a new run; otherwise go on.</summary>
        private async Task<CanaryPromotionOutput?> ActOnAsync(AnalysisRunResult run)
        {
            switch (run.Phase)
            {
                case AnalysisPhase.Failed or AnalysisPhase.Error:
                    return await FailAsync(run);
                case AnalysisPhase.Inconclusive:
                    if (await HoldAsync($"analysis inconclusive: {run.Message}") is { } ended)
                    {
                        return ended;
                    }

                    _measurements = new(StringComparer.Ordinal);
                    Decide("analysis", "a new analysis run starts after the approval.");
                    return null;
                default:
                    return null;
            }
        }

        private async Task<CanaryPromotionOutput> FailAsync(AnalysisRunResult run)
        {
            var failing = run.Metrics
                .Where(m => m.Phase is AnalysisPhase.Failed or AnalysisPhase.Error or AnalysisPhase.Inconclusive)
                .Select(m => new CanaryFailingCheck(m.Name, m.Phase, LastValue(m.Name), m.Message))
                .ToList();
            var reason = $"analysis {run.Phase}: {run.Message}";
            if (_input.OnFailure == CanaryPromotionInput.Freeze)
            {
                Decide("freeze", $"{reason} Weights left as they are: candidate at {_weight} %, stable version {_stableAtEnd}.");
                return Finish(CanaryOutcome.Frozen, reason, failing);
            }

            await RollbackAsync(reason);
            return Finish(CanaryOutcome.RolledBack, reason, failing);
        }

        /// <summary>A routing change failed after its retries: send the traffic back to the stable version (which fails the instance if it fails too).</summary>
        private async Task<CanaryPromotionOutput> RoutingFailedAsync(string reason)
        {
            await RollbackAsync(reason);
            return Finish(CanaryOutcome.RolledBack, reason, []);
        }

        private async Task<CanaryPromotionOutput> AbortAsync(string reason)
        {
            var why = $"aborted{(reason.Length == 0 ? string.Empty : ": " + reason)}";
            await RollbackAsync(why);
            return Finish(CanaryOutcome.Aborted, why, []);
        }

        private async Task RollbackAsync(string reason)
        {
            _phase = "rolling back";
            _waiting = string.Empty;
            SetStatus();
            var route = await _context.CallActivityAsync<ServingRoute>(
                RollbackCanaryActivity.Name, new CanaryVersionsInput(_input.Model, _stable, _input.CandidateVersion), Retried);
            _weight = 0;
            _stableAtEnd = route.Stable;
            Decide("rollback", $"{reason} Candidate at 0 %, stable version {route.Stable}.");
        }

        private async Task SetWeightAsync(int weight)
        {
            _waiting = "the weight";
            SetStatus();
            // The candidate shadows the stable version's requests while there are any, for a shadow disagreement check.
            var shadowShare = _input.Shadows && weight < 100 ? _input.ShadowShare : (double?)null;
            _ = await _context.CallActivityAsync<ServingRoute>(
                SetCanaryWeightActivity.Name, new CanaryWeightInput(_input.Model, _input.CandidateVersion, weight, shadowShare), Retried);
            _weight = weight;
            Decide("weight", $"step {_step}: candidate {_input.CandidateVersion} at {weight} %.");
        }

        /// <summary>Waits for <paramref name="to"/> by a durable timer, taking events as they come; returns the reason when an abort comes first.</summary>
        private async Task<string?> WaitUntilAsync(DateTime to)
        {
            var timer = _context.CreateTimer(to, CancellationToken.None);
            while (true)
            {
                SetStatus();
                var done = await Task.WhenAny(timer, _abort, _pause, _resume, _approve);
                if (done == timer)
                {
                    return null;
                }

                if (await TakeEventAsync((Task<object?>)done) is { } abort)
                {
                    return abort;
                }
            }
        }

        /// <summary>Holds until an approve (null) or an abort (rolled back).</summary>
        private async Task<CanaryPromotionOutput?> HoldAsync(string why)
        {
            var phase = _phase;
            _phase = "holding";
            _waiting = "approve or abort";
            Decide("hold", why);
            while (true)
            {
                SetStatus();
                var done = await Task.WhenAny(_abort, _approve, _pause, _resume);
                var wasApproved = done == _approve;
                if (await TakeEventAsync(done) is { } abort)
                {
                    return await AbortAsync(abort);
                }

                if (wasApproved)
                {
                    _approved = false;
                    _phase = phase;
                    return null;
                }
            }
        }

        /// <summary>Applies a completed event and listens for the next of its name; returns the reason of an abort.</summary>
        private async Task<string?> TakeEventAsync(Task<object?> done)
        {
            var reason = Reason(await done);
            var suffix = reason.Length == 0 ? string.Empty : ": " + reason;
            if (done == _abort)
            {
                _abort = _context.WaitForExternalEvent<object?>(CanaryEvents.Abort);
                Decide("event", "abort" + suffix);
                return reason;
            }

            if (done == _pause)
            {
                _pause = _context.WaitForExternalEvent<object?>(CanaryEvents.Pause);
                _paused = true;
                Decide("event", "pause" + suffix);
            }
            else if (done == _resume)
            {
                _resume = _context.WaitForExternalEvent<object?>(CanaryEvents.Resume);
                _paused = false;
                Decide("event", "resume" + suffix);
            }
            else
            {
                _approve = _context.WaitForExternalEvent<object?>(CanaryEvents.Approve);
                _approved = true;
                Decide("event", "approve" + suffix);
            }

            return null;
        }

        private double? LastValue(string check) =>
            _measurements.GetValueOrDefault(check)?.LastOrDefault(m => m.Value is not null)?.Value;

        private CanaryPromotionOutput Finish(string outcome, string reason, IReadOnlyList<CanaryFailingCheck> failing)
        {
            _phase = "done";
            _waiting = string.Empty;
            if (outcome == CanaryOutcome.Promoted)
            {
                _weight = 100;
            }

            Decide("end", $"{outcome}: {reason}");
            SetStatus();
            return new CanaryPromotionOutput(
                outcome, reason, _input.Model, _stable, _input.CandidateVersion, _stableAtEnd, _weight, _steps, _postPromotion, failing, _decisions);
        }

        private void Decide(string what, string detail) => _decisions.Add(new CanaryDecision(_context.CurrentUtcDateTime, what, detail));

        private void SetStatus() => _context.SetCustomStatus(new CanaryStatus(_phase, _step, _weight, _paused, _waiting, _last));

        private static string Reason(object? payload) => payload switch
        {
            null => string.Empty,
            JsonElement { ValueKind: JsonValueKind.String } text => text.GetString() ?? string.Empty,
            JsonElement { ValueKind: JsonValueKind.Null or JsonValueKind.Undefined } => string.Empty,
            JsonElement element when element.ValueKind == JsonValueKind.Object && element.TryGetProperty("reason", out var property) => property.ToString(),
            JsonElement element => element.GetRawText(),
            _ => Convert.ToString(payload, CultureInfo.InvariantCulture) ?? string.Empty,
        };

        /// <summary>
        /// Where the next window starts: where the last ended, so windows follow without gaps; but after a hold (or an
        /// analysis later than a whole interval) from now, so no window spans the time nothing was analysed.
        /// </summary>
        private DateTime NextFrom(DateTime to)
        {
            var now = _context.CurrentUtcDateTime;
            if (now - to <= Interval)
            {
                return to;
            }

            Decide("analysis", $"windows start again from {now:O}: nothing was analysed since {to:O}.");
            return now;
        }

        private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

        private static string Seconds(TimeSpan span) => span.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture) + " s";
    }
}
