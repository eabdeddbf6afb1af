namespace Workflows.Serving.Routing;

/// <summary>
/// A hash of a string that is the same in every process and on every machine (unlike <see cref="string.GetHashCode()"/>,
/// which is randomized per process): FNV-1a over the UTF-16 code units, finished with SplitMix64's mixer so that every
/// bit depends on every input bit. Sticky routing buckets keys with it.
/// </summary>
internal static class StableHash
{
    public static ulong Of(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var hash = 14695981039346656037UL;
        foreach (var c in value)
        {
            hash = (hash ^ (byte)c) * 1099511628211UL;
            hash = (hash ^ (byte)(c >> 8)) * 1099511628211UL;
        }

        return Mix(hash);
    }

    /// <summary>SplitMix64's finalizer; also derives a second, independent hash from a first.</summary>
    public static ulong Mix(ulong value)
    {
        value = (value ^ (value >> 30)) * 0xBF58476D1CE4E5B9UL;
        value = (value ^ (value >> 27)) * 0x94D049BB133111EBUL;
        return value ^ (value >> 31);
    }

    /// <summary>Whether <paramref name="hash"/> falls in the first <paramref name="share"/> (0 to 1) of the buckets.</summary>
    public static bool InShare(ulong hash, double share) => share > 0 && (share >= 1 || hash % 1_000_000UL < (ulong)(share * 1_000_000));
}
