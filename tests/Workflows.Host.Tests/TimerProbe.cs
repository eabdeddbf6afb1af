using System.Collections.Concurrent;
using System.Threading.Channels;
using Workflows.Host.Functions;

namespace Workflows.Host.Tests;

/// <summary>Records timer invocations of one host (registered in its services) for the test to read.</summary>
public sealed class TimerProbe
{
    private readonly ConcurrentDictionary<string, Channel<TimerInfo>> _fired = new(StringComparer.Ordinal);

    public void Record(string function, TimerInfo timer) => Channel(function).Writer.TryWrite(timer);

    public async Task<TimerInfo> NextAsync(string function)
    {
        using var timeout = new CancellationTokenSource(TestHost.SafetyTimeout);
        return await Channel(function).Reader.ReadAsync(timeout.Token);
    }

    public bool TryNext(string function, out TimerInfo? timer) => Channel(function).Reader.TryRead(out timer);

    private Channel<TimerInfo> Channel(string function) => _fired.GetOrAdd(function, static _ => System.Threading.Channels.Channel.CreateUnbounded<TimerInfo>());
}
