namespace Workflows.Durable;

/// <summary>
/// Replay found that orchestrator code no longer produces the durable actions its history recorded: the code
/// changed under a running instance, or it depends on something non-deterministic (clock, random, I/O).
/// </summary>
public sealed class NonDeterministicOrchestrationException : Exception
{
    /// <summary>Creates the exception naming the history event, what history expected and what the code did.</summary>
    public NonDeterministicOrchestrationException(int eventId, string expected, string actual)
        : base(
            $"Non-deterministic orchestration detected at event id {eventId}: history expects {expected}, "
            + $"but the orchestrator code now produced {actual}. Orchestrator code must make the same durable calls, "
            + "in the same order and with the same names, on every replay; do not change running orchestrations' code "
            + "paths or use DateTime.Now, Guid.NewGuid, Random or I/O inside orchestrators.")
    {
        EventId = eventId;
        Expected = expected;
        Actual = actual;
    }

    /// <summary>Creates the exception with a message only.</summary>
    public NonDeterministicOrchestrationException()
        : this(-1, "unknown", "unknown")
    {
    }

    /// <summary>Creates the exception with a message only.</summary>
    public NonDeterministicOrchestrationException(string message)
        : base(message)
    {
        Expected = string.Empty;
        Actual = string.Empty;
    }

    /// <summary>Creates the exception with a message and an inner exception.</summary>
    public NonDeterministicOrchestrationException(string message, Exception innerException)
        : base(message, innerException)
    {
        Expected = string.Empty;
        Actual = string.Empty;
    }

    /// <summary>The id of the history event where replay diverged.</summary>
    public int EventId { get; }

    /// <summary>What the history recorded at that point.</summary>
    public string Expected { get; }

    /// <summary>What the orchestrator code did instead.</summary>
    public string Actual { get; }
}
