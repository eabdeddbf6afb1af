using System.Globalization;
using DurableTask.Core.Tracing;

namespace Workflows.DurableTask;

/// <summary>Trace contexts for events that DTFx's dispatcher needs one on and that carry none.</summary>
public static class TraceContexts
{
    /// <summary>A new root W3C trace context: version 00, random trace and span ids, sampled.</summary>
    public static DistributedTraceContext NewRoot() =>
        new(string.Create(CultureInfo.InvariantCulture, $"00-{Guid.NewGuid():N}-{Guid.NewGuid().ToString("N")[..16]}-01"));
}
