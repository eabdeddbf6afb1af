namespace Workflows.Host.Functions;

/// <summary>What a timer-triggered function is told about its invocation.</summary>
public sealed class TimerInfo
{
    /// <summary>The occurrence this invocation is for.</summary>
    public required DateTimeOffset ScheduledTime { get; init; }

    /// <summary>The previous occurrence that ran, if any.</summary>
    public DateTimeOffset? Last { get; init; }

    /// <summary>The next occurrence after this one.</summary>
    public DateTimeOffset? Next { get; init; }

    /// <summary>True when this occurrence was missed (the host was down) and runs late.</summary>
    public bool IsPastDue { get; init; }
}
