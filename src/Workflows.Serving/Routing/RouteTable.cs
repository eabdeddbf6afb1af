namespace Workflows.Serving.Routing;

/// <summary>
/// How one model's traffic is split, replaced as a whole (so a change is atomic for every request): the stable version
/// takes what the candidate does not; the candidate takes <see cref="CandidateWeight"/> of the request keys, chosen by
/// a stable hash of the key (so a key always goes to the same version while the weight holds); the shadow version gets
/// a copy of <see cref="ShadowShare"/> of the requests, sampled by an independent hash.
/// </summary>
/// <param name="Stable">The version that serves by default.</param>
/// <param name="Candidate">The version under trial, or null.</param>
/// <param name="CandidateWeight">Share of keys routed to the candidate, 0 to 1.</param>
/// <param name="Shadow">The version mirrored to, or null.</param>
/// <param name="ShadowShare">Share of requests mirrored, 0 to 1.</param>
/// <param name="PreviousStable">Stable versions before this one, most recent first (for rollback).</param>
internal sealed record RouteTable(int Stable, int? Candidate, double CandidateWeight, int? Shadow, double ShadowShare, IReadOnlyList<int> PreviousStable)
{
    /// <summary>A table with only a stable version.</summary>
    public static RouteTable StableOnly(int version) => new(version, null, 0, null, 0, []);

    /// <summary>The version a request with key hash <paramref name="keyHash"/> goes to.</summary>
    public int Choose(ulong keyHash) =>
        Candidate is { } candidate && StableHash.InShare(keyHash, CandidateWeight) ? candidate : Stable;

    /// <summary>Whether a request with key hash <paramref name="keyHash"/> is mirrored to the shadow version.</summary>
    public bool Mirrors(ulong keyHash) => Shadow is not null && StableHash.InShare(StableHash.Mix(keyHash ^ 0x5DEECE66DUL), ShadowShare);
}
