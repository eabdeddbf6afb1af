namespace Workflows.Host.Functions;

/// <summary>
/// Runs the function on a six-field NCRONTAB schedule (<c>{second} {minute} {hour} {day} {month} {day-of-week}</c>,
/// UTC), e.g. <c>"0 */5 * * * *"</c>. <c>"%Name%"</c> reads the schedule from app setting <c>Name</c>.
/// One host of those sharing a task hub runs each timer (a blob lease); a run missed while every host was down
/// fires once at the next start.
/// </summary>
/// <param name="schedule">NCRONTAB expression with seconds, or <c>%AppSetting%</c>.</param>
[AttributeUsage(AttributeTargets.Parameter, AllowMultiple = false, Inherited = false)]
public sealed class TimerTriggerAttribute(string schedule) : Attribute
{
    /// <summary>The schedule as written.</summary>
    public string Schedule { get; } = schedule;

    /// <summary>Also run once when the host starts.</summary>
    public bool RunOnStartup { get; set; }
}
