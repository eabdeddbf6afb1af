using Workflows.Functions.Canary;

namespace Workflows.Functions.Tests.Canary;

/// <summary>
/// An in-process stand-in for the prediction service's admin API: one model's routing, and per-version figures for a
/// window made from each version's behaviour and the routing at the time of the read (<see cref="RequestsPerSecond"/>
/// split by the candidate's weight). Every routing change is recorded.
/// </summary>
internal sealed class FakeServing : IServingAdmin
{
    private readonly Lock _gate = new();
    private readonly Dictionary<int, Behaviour> _behaviour = [];
    private readonly List<string> _changes = [];
    private ServingRoute _route;

    public FakeServing(string model, int stable, params int[] loaded)
    {
        Model = model;
        _route = new ServingRoute(stable, null, 0, null, 0, [stable, .. loaded]);
        foreach (var version in _route.LoadedVersions)
        {
            _behaviour[version] = new Behaviour(0, 10);
        }
    }

    /// <summary>
    /// A version's error rate, typical latency in ms, accuracy over labels (null: no feedback), its share of
    /// disagreements as a shadow, and the mean of its predictions (normal, sd 0.1, drawn afresh for each sample read).
    /// </summary>
    public sealed record Behaviour(double ErrorRate, double LatencyMs, double? Accuracy = null, double Disagreement = 0, double PredictionMean = 0.5);

    public string Model { get; }

    public int RequestsPerSecond { get; set; } = 400;

    /// <summary>Routing changes that fail (as a refused connection) before one is made.</summary>
    public int FailNextChanges { get; set; }

    /// <summary>Whether routing to a candidate is refused every time (taking the candidate off still works).</summary>
    public bool RefuseCandidate { get; set; }

    /// <summary>When set, reading metrics throws this.</summary>
    public Exception? MetricsFailure { get; set; }

    public ServingRoute Route
    {
        get
        {
            lock (_gate)
            {
                return _route;
            }
        }
    }

    /// <summary>Routing changes in order: <c>weight v=w</c> (w in %), <c>candidate off</c>, <c>promote v</c>.</summary>
    public IReadOnlyList<string> Changes
    {
        get
        {
            lock (_gate)
            {
                return [.. _changes];
            }
        }
    }

    public int MetricReads { get; private set; }

    /// <summary>Registry scans asked for.</summary>
    public int Refreshes { get; private set; }

    /// <summary>Versions registered since the last scan: the next <see cref="RefreshAsync"/> loads them.</summary>
    public HashSet<int> Unscanned { get; } = [];

    public int SampleReads { get; private set; }

    /// <summary>Samples to answer as they are, by version (else one is drawn from the version's behaviour and traffic).</summary>
    public Dictionary<int, ServingSample> Samples { get; } = [];

    public void Behave(int version, Behaviour behaviour)
    {
        lock (_gate)
        {
            _behaviour[version] = behaviour;
        }
    }

    public Task<ServingRoute?> GetRouteAsync(string model, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult(model == Model ? _route : null);
        }
    }

    public Task<int> RefreshAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            Refreshes++;
            var loaded = Unscanned.Count;
            foreach (var version in Unscanned)
            {
                _behaviour[version] = new Behaviour(0, 10);
            }

            _route = _route with { LoadedVersions = [.. _route.LoadedVersions, .. Unscanned] };
            Unscanned.Clear();
            return Task.FromResult(loaded);
        }
    }

    public Task<ServingRoute> SetTrafficAsync(string model, int? candidate, double weight, int? shadow, double shadowShare, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            Require(model);
            if (FailNextChanges > 0 || (RefuseCandidate && candidate is not null))
            {
                FailNextChanges--;
                throw new HttpRequestException("connection refused");
            }

            if (candidate is { } c && (!_route.LoadedVersions.Contains(c) || c == _route.Stable))
            {
                throw new HttpRequestException($"409: cannot route to {c}");
            }

            var before = _route;
            _route = _route with { Candidate = candidate, CandidateWeight = candidate is null ? 0 : weight, Shadow = shadow, ShadowShare = shadow is null ? 0 : shadowShare };
            var change = candidate is null ? "candidate off" : $"weight {candidate}={Math.Round(weight * 100)}";
            if (shadow != before.Shadow || (shadow is not null && shadowShare != before.ShadowShare))
            {
                change += shadow is null ? " shadow off" : $" shadow {shadow}@{Math.Round(shadowShare * 100)}";
            }

            _changes.Add(change);
            return Task.FromResult(_route);
        }
    }

    public Task<ServingRoute> PromoteAsync(string model, int version, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            Require(model);
            _route = _route with
            {
                Stable = version,
                Candidate = _route.Candidate == version ? null : _route.Candidate,
                CandidateWeight = _route.Candidate == version ? 0 : _route.CandidateWeight,
            };
            _changes.Add($"promote {version}");
            return Task.FromResult(_route);
        }
    }

    public Task<ServingWindow> GetMetricsAsync(string model, DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            Require(model);
            MetricReads++;
            if (MetricsFailure is { } failure)
            {
                throw failure;
            }

            var seconds = Math.Max(1, (long)Math.Round((to - from).TotalSeconds));
            var total = RequestsPerSecond * seconds;
            var candidateShare = _route.Candidate is null ? 0 : _route.CandidateWeight;
            var versions = _route.LoadedVersions.Select(version =>
            {
                var share = version == _route.Candidate ? candidateShare : version == _route.Stable ? 1 - candidateShare : 0;
                var figures = Figures(version, (long)Math.Round(total * share), _behaviour[version]);
                if (version == _route.Shadow && version != _route.Stable)
                {
                    // It is mirrored a share of the requests the stable version answers.
                    var compared = (long)Math.Round(total * (1 - candidateShare) * _route.ShadowShare);
                    figures = figures with { ShadowCompared = compared, ShadowDisagreed = (long)Math.Round(compared * _behaviour[version].Disagreement) };
                }

                return figures;
            }).ToList();
            return Task.FromResult(new ServingWindow(versions));
        }
    }

    public Task<ServingSample> GetSampleAsync(string model, int? version, int max, DateTimeOffset? from, DateTimeOffset? to, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            Require(model);
            SampleReads++;
            if (MetricsFailure is { } failure)
            {
                throw failure;
            }

            var chosen = version ?? _route.Stable;
            if (!_route.LoadedVersions.Contains(chosen))
            {
                throw new HttpRequestException($"404: no loaded version {chosen}");
            }

            if (Samples.TryGetValue(chosen, out var fixedSample))
            {
                var keep = Math.Min(max, fixedSample.Rows);
                return Task.FromResult(fixedSample with
                {
                    Inputs = fixedSample.Inputs[((fixedSample.Rows - keep) * fixedSample.Features)..],
                    Predictions = fixedSample.Predictions[(fixedSample.Rows - keep)..],
                });
            }

            // As many rows as the version answered over the window at the current routing.
            var seconds = from is { } f && to is { } t ? Math.Max(1, (long)Math.Round((t - f).TotalSeconds)) : 60;
            var candidateShare = _route.Candidate is null ? 0 : _route.CandidateWeight;
            var share = chosen == _route.Candidate ? candidateShare : chosen == _route.Stable ? 1 - candidateShare : 0;
            var behaviour = _behaviour[chosen];
            var rows = (int)Math.Min(max, Math.Round(RequestsPerSecond * seconds * share * (1 - behaviour.ErrorRate)));
            var random = new Random(unchecked((chosen * 7919) + SampleReads));
            var predictions = new float[rows];
            for (var i = 0; i < rows; i++)
            {
                var normal = Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
                predictions[i] = (float)(behaviour.PredictionMean + (0.1 * normal));
            }

            return Task.FromResult(new ServingSample(chosen, 1, rows, new float[rows], predictions));
        }
    }

    /// <summary>Figures of <paramref name="attempts"/> requests: latencies spread over five buckets around the typical one.</summary>
    private static ServingVersionFigures Figures(int version, long attempts, Behaviour behaviour)
    {
        var errors = (long)Math.Round(attempts * behaviour.ErrorRate);
        var answered = attempts - errors;
        double[] spread = [0.8, 0.9, 1.0, 1.1, 1.25];
        double[] shares = [0.1, 0.2, 0.4, 0.2, 0.1];
        var histogram = new List<ServingLatencyBucket>();
        long placed = 0;
        for (var i = 0; i < spread.Length; i++)
        {
            var count = i == spread.Length - 1 ? answered - placed : (long)Math.Round(answered * shares[i]);
            placed += count;
            if (count > 0)
            {
                histogram.Add(new ServingLatencyBucket(behaviour.LatencyMs * spread[i], count));
            }
        }

        return new ServingVersionFigures(
            version,
            Complete: true,
            answered,
            errors,
            answered == 0 ? null : histogram[^1].UpperMs,
            behaviour.Accuracy is null ? 0 : answered,
            answered == 0 ? null : behaviour.Accuracy,
            histogram);
    }

    private void Require(string model)
    {
        if (model != Model)
        {
            throw new HttpRequestException($"404: no model '{model}'");
        }
    }
}
