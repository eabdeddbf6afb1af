using System.Security.Cryptography;
using System.Text;

namespace Workflows.Host.TaskHub;

/// <summary>
/// This host's stable name on its task hub: the machine, a hash of the app folder, the storage account and the hub, and
/// a slot number. The
/// slot is held by an exclusive lock on a file for as long as the host runs, so two hosts of the same app on one
/// machine get different names, and a host that was killed (the system releases its lock) leaves its name to the
/// next one, which then takes the dead host's partitions back at once instead of waiting for its leases to expire.
/// </summary>
internal sealed class WorkerIdentity : IDisposable
{
    private const int MaxSlots = 64;
    private readonly FileStream? _lock;

    private WorkerIdentity(string? name, FileStream? held)
    {
        Name = name;
        _lock = held;
    }

    /// <summary>The name; null when no slot could be locked (the worker then takes a new random name).</summary>
    public string? Name { get; }

    /// <summary>
    /// Claims the first free slot for the app in <paramref name="scriptRoot"/> on hub <paramref name="hubName"/> of the
    /// storage account <paramref name="storage"/> (its endpoint, never its key): hosts of the same app on other
    /// accounts (another emulator, say) take no slot from each other.
    /// </summary>
    public static WorkerIdentity Claim(string scriptRoot, string storage, string hubName, string? lockFolder = null)
    {
        var key = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Path.GetFullPath(scriptRoot) + "\n" + storage + "\n" + hubName)))[..16];
        var folder = lockFolder ?? Path.Combine(Path.GetTempPath(), "workflows-workers");
        try
        {
            Directory.CreateDirectory(folder);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return new WorkerIdentity(null, null);
        }

        for (var slot = 1; slot <= MaxSlots; slot++)
        {
            try
            {
                // FileShare.None is an exclusive lock that other processes (and other opens in this one) respect.
                var held = new FileStream(Path.Combine(folder, $"{key}-{slot}.lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
                return new WorkerIdentity($"{Environment.MachineName}-{key}-{slot}", held);
            }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
            {
                // Held by a running host: try the next slot.
            }
        }

        return new WorkerIdentity(null, null);
    }

    /// <summary>Releases the slot.</summary>
    public void Dispose() => _lock?.Dispose();
}
