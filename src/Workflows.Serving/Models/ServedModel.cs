using System.Collections.Concurrent;
using Workflows.Serving.Routing;

namespace Workflows.Serving.Models;

/// <summary>
/// One model name: its versions (loaded or failed) and its <see cref="RouteTable"/>. The first version that loads
/// becomes stable; a later one becomes the candidate at weight 0 when there is none, and otherwise waits, loaded, until
/// an admin call routes to it. Routing changes replace the table as a whole under a lock, so each request sees one
/// table; readers take no lock.
/// </summary>
internal sealed class ServedModel(string name)
{
    private readonly ConcurrentDictionary<int, VersionState> _versions = new();
    private readonly Lock _gate = new();
    private volatile RouteTable? _route;

    public string Name { get; } = name;

    /// <summary>The current split; null until a version has loaded.</summary>
    public RouteTable? Route => _route;

    /// <summary>Every version seen, in version order.</summary>
    public IReadOnlyList<VersionState> Versions => _versions.Values.OrderBy(state => state.Manifest.Version).ToList();

    public bool Knows(int version) => _versions.ContainsKey(version);

    public VersionState? Find(int version) => _versions.TryGetValue(version, out var state) ? state : null;

    public LoadedVersion? Loaded(int version) => Find(version)?.Loaded;

    /// <summary>Adds a version's state; a loaded one joins the routing as described on the type. Returns the change made, or null.</summary>
    public string? Add(VersionState state)
    {
        lock (_gate)
        {
            _versions[state.Manifest.Version] = state;
            if (state.Loaded is null)
            {
                return null;
            }

            var version = state.Manifest.Version;
            if (_route is null)
            {
                _route = RouteTable.StableOnly(version);
                return "first version loaded: stable";
            }

            if (_route.Candidate is null && version > _route.Stable)
            {
                _route = _route with { Candidate = version, CandidateWeight = 0 };
                return "new version loaded: candidate at weight 0";
            }

            return null;
        }
    }

    /// <summary>Held while this model's table is written to the route store, so writes go out in order, each with the table current then.</summary>
    public SemaphoreSlim SaveGate { get; } = new(1, 1);

    /// <summary>Whether the stored table has yet to be looked at: once, when the model first has a loaded version.</summary>
    public bool RestorePending { get; set; } = true;

    /// <summary>
    /// Replaces the table with a stored one when every version it routes to is loaded (earlier stable versions that
    /// are not are dropped from the rollback list); otherwise leaves the table as it is and returns why.
    /// </summary>
    public string? Restore(RouteTable stored)
    {
        lock (_gate)
        {
            foreach (var (version, role) in new[] { ((int?)stored.Stable, "stable"), (stored.Candidate, "candidate"), (stored.Shadow, "shadow") })
            {
                if (version is { } v && Loaded(v) is null)
                {
                    return Find(v) is { Error: { } error }
                        ? $"{role} version {v} failed to load: {error}"
                        : $"{role} version {v} is not in the registry.";
                }
            }

            if (stored.Candidate == stored.Stable)
            {
                return $"version {stored.Stable} is both stable and candidate.";
            }

            _route = stored with { PreviousStable = stored.PreviousStable.Where(version => Loaded(version) is not null).Take(16).ToList() };
            return null;
        }
    }

    /// <summary>Sets the candidate and its weight, and the shadow and its share, atomically.</summary>
    public RouteTable SetTraffic(int? candidate, double weight, int? shadow, double shadowShare)
    {
        if (weight is < 0 or > 1 || double.IsNaN(weight) || shadowShare is < 0 or > 1 || double.IsNaN(shadowShare))
        {
            throw new RoutingException("weight and shadowShare must be between 0 and 1.");
        }

        lock (_gate)
        {
            var route = Current();
            RequireLoaded(candidate, "candidate");
            RequireLoaded(shadow, "shadow");
            if (candidate == route.Stable)
            {
                throw new RoutingException($"Version {candidate} is already stable; it cannot also be the candidate.");
            }

            return _route = route with
            {
                Candidate = candidate,
                CandidateWeight = candidate is null ? 0 : weight,
                Shadow = shadow,
                ShadowShare = shadow is null ? 0 : shadowShare,
            };
        }
    }

    /// <summary>Makes <paramref name="version"/> (the candidate when null) stable; the old stable is kept for rollback.</summary>
    public RouteTable Promote(int? version)
    {
        lock (_gate)
        {
            var route = Current();
            var target = version ?? route.Candidate ?? throw new RoutingException($"Model '{Name}' has no candidate to promote; name a version.");
            RequireLoaded(target, "version");
            if (target == route.Stable)
            {
                return route;
            }

            return _route = route with
            {
                Stable = target,
                Candidate = route.Candidate == target ? null : route.Candidate,
                CandidateWeight = route.Candidate == target ? 0 : route.CandidateWeight,
                PreviousStable = [route.Stable, .. route.PreviousStable.Take(15)],
            };
        }
    }

    /// <summary>Takes all traffic off the candidate (when there is one), or else returns to the previous stable version.</summary>
    public RouteTable Rollback()
    {
        lock (_gate)
        {
            var route = Current();
            if (route.Candidate is not null)
            {
                return _route = route with { Candidate = null, CandidateWeight = 0 };
            }

            if (route.PreviousStable.Count == 0)
            {
                throw new RoutingException($"Model '{Name}' has no candidate and no earlier stable version to roll back to.");
            }

            return _route = route with { Stable = route.PreviousStable[0], PreviousStable = route.PreviousStable.Skip(1).ToList() };
        }
    }

    private RouteTable Current() => _route ?? throw new RoutingException($"Model '{Name}' has no loaded version yet.");

    private void RequireLoaded(int? version, string field)
    {
        if (version is { } v && Loaded(v) is null)
        {
            throw new RoutingException(Find(v) is { Error: { } error }
                ? $"{field}: version {v} of model '{Name}' failed to load: {error}"
                : $"{field}: model '{Name}' has no version {v}.");
        }
    }
}
