namespace Workflows.Host.Diagnostics;

/// <summary>
/// How long the host has been up, on the host's <see cref="TimeProvider"/>. The host creates it while it is built, so
/// uptime counts from the host's start, not from the first request that asks.
/// </summary>
internal sealed class HostUptime(TimeProvider time)
{
    private readonly long _started = time.GetTimestamp();

    public TimeSpan Elapsed => time.GetElapsedTime(_started);
}
