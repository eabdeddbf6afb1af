namespace Workflows.DurableTask;

/// <summary>
/// A backend whose extended sessions can be ended ahead of a stop. DTFx's graceful stop waits, up to about eight
/// seconds, for the work items in hand, and a session idling between episodes is one: <see cref="EndSessions"/> ends
/// those waits at once (their instances are unlocked and their next messages wait for the next lock), so a stop takes
/// only as long as the episodes that are running.
/// </summary>
public interface ISessionDrain
{
    /// <summary>Ends the sessions waiting for messages now, and lets no session wait until the backend starts again.</summary>
    void EndSessions();
}
