using System.Globalization;
using Workflows.ML.Data.Caching;

namespace Workflows.Functions;

/// <summary>
/// The byte budget of the training activities' <see cref="ML.Data.Caching.DecodedChunkCache"/> and where it came from.
/// By default a quarter of the memory this process may use (<see cref="GCMemoryInfo.TotalAvailableMemoryBytes"/>:
/// physical memory, or the container's limit, or the GC's hard limit), at least <see cref="FloorBytes"/> and at most
/// <see cref="CapBytes"/>; the app setting <see cref="Setting"/> overrides it in MiB, 0 turning the cache off.
/// </summary>
/// <param name="Bytes">The budget in bytes; 0 when the cache is off.</param>
/// <param name="Origin">Why it is that size, for the start-up log.</param>
public sealed record ChunkCacheBudget(long Bytes, string Origin)
{
    /// <summary>App setting (or environment variable) with the budget in MiB; 0 turns the cache off.</summary>
    public const string Setting = "WorkflowsChunkCacheMegabytes";

    /// <summary>
    /// The default's share of the process's memory. A quarter leaves the rest to what runs beside the cache: the
    /// activity decoding the next chunks, the holdout's scores, statistics activities, the engine.
    /// </summary>
    public const int AvailableMemoryDivisor = 4;

    /// <summary>Smallest default budget (64 MiB): a few chunks, even on a small container.</summary>
    public const long FloorBytes = 64L << 20;

    /// <summary>
    /// Largest default budget (16 GiB): on a large machine shared by several worker processes a quarter each would
    /// add up past its memory; a bigger cache is one setting away.
    /// </summary>
    public const long CapBytes = 16L << 30;

    /// <summary>The default budget for a process that may use <paramref name="availableMemoryBytes"/> (unknown: 0 or less gives the floor).</summary>
    public static long DefaultBytes(long availableMemoryBytes) =>
        Math.Clamp(availableMemoryBytes / AvailableMemoryDivisor, FloorBytes, CapBytes);

    /// <summary>
    /// The budget from the setting's value <paramref name="configured"/> (<see langword="null"/> or blank: the
    /// default for <paramref name="availableMemoryBytes"/>). Throws <see cref="AppSettingException"/>, which
    /// stops the worker's start-up with its message, for anything but a whole number of MiB.
    /// </summary>
    public static ChunkCacheBudget Resolve(string? configured, long availableMemoryBytes)
    {
        if (string.IsNullOrWhiteSpace(configured))
        {
            return new ChunkCacheBudget(
                DefaultBytes(availableMemoryBytes),
                string.Create(CultureInfo.InvariantCulture, $"default: a quarter of the {availableMemoryBytes >> 20} MiB this process may use, within {FloorBytes >> 20} MiB to {CapBytes >> 30} GiB; {Setting} overrides it"));
        }

        const NumberStyles Whole = NumberStyles.AllowLeadingWhite | NumberStyles.AllowTrailingWhite;
        if (!long.TryParse(configured, Whole, CultureInfo.InvariantCulture, out var megabytes) || megabytes > (long.MaxValue >> 20))
        {
            throw new AppSettingException($"app setting {Setting} must be a whole number of MiB (0 turns the cache off), not '{configured}'.");
        }

        return new ChunkCacheBudget(megabytes << 20, megabytes == 0 ? $"off: {Setting} is 0" : $"{Setting} = {megabytes.ToString(CultureInfo.InvariantCulture)}");
    }

    /// <summary>The budget from the app settings in <paramref name="settings"/> and this process's memory.</summary>
    public static ChunkCacheBudget FromSettings(Func<string, string?> settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        return Resolve(settings(Setting), GC.GetGCMemoryInfo().TotalAvailableMemoryBytes);
    }

    /// <summary>The budget in MiB, as the log shows it.</summary>
    public long Megabytes => Bytes >> 20;
}
