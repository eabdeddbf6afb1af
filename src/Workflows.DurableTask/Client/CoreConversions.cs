using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Core = DurableTask.Core;

namespace Workflows.DurableTask.Client;

/// <summary>Conversions between DurableTask.Core's types and the official SDK's.</summary>
internal static class CoreConversions
{
#pragma warning disable CS0618 // DTFx backends still report ContinuedAsNew and Canceled; the SDK keeps them for that.
    public static OrchestrationRuntimeStatus ToRuntimeStatus(this Core.OrchestrationStatus status) => status switch
    {
        Core.OrchestrationStatus.Running => OrchestrationRuntimeStatus.Running,
        Core.OrchestrationStatus.Completed => OrchestrationRuntimeStatus.Completed,
        Core.OrchestrationStatus.ContinuedAsNew => OrchestrationRuntimeStatus.ContinuedAsNew,
        Core.OrchestrationStatus.Failed => OrchestrationRuntimeStatus.Failed,
        Core.OrchestrationStatus.Canceled => OrchestrationRuntimeStatus.Canceled,
        Core.OrchestrationStatus.Terminated => OrchestrationRuntimeStatus.Terminated,
        Core.OrchestrationStatus.Pending => OrchestrationRuntimeStatus.Pending,
        Core.OrchestrationStatus.Suspended => OrchestrationRuntimeStatus.Suspended,
        _ => throw new ArgumentOutOfRangeException(nameof(status), status, "Unknown orchestration status."),
    };

    public static Core.OrchestrationStatus ToCoreStatus(this OrchestrationRuntimeStatus status) => status switch
    {
        OrchestrationRuntimeStatus.Running => Core.OrchestrationStatus.Running,
        OrchestrationRuntimeStatus.Completed => Core.OrchestrationStatus.Completed,
        OrchestrationRuntimeStatus.ContinuedAsNew => Core.OrchestrationStatus.ContinuedAsNew,
        OrchestrationRuntimeStatus.Failed => Core.OrchestrationStatus.Failed,
        OrchestrationRuntimeStatus.Canceled => Core.OrchestrationStatus.Canceled,
        OrchestrationRuntimeStatus.Terminated => Core.OrchestrationStatus.Terminated,
        OrchestrationRuntimeStatus.Pending => Core.OrchestrationStatus.Pending,
        OrchestrationRuntimeStatus.Suspended => Core.OrchestrationStatus.Suspended,
        _ => throw new ArgumentOutOfRangeException(nameof(status), status, "Unknown orchestration status."),
    };

    public static Core.OrchestrationStatus ParseCoreStatus(string status) =>
        Enum.TryParse(status, ignoreCase: true, out OrchestrationRuntimeStatus parsed)
            ? parsed.ToCoreStatus()
            : throw new ArgumentException($"'{status}' is not an orchestration status.", nameof(status));

#pragma warning restore CS0618

    public static TaskFailureDetails? ToTaskFailureDetails(this Core.FailureDetails? details) => details is null
        ? null
        : new TaskFailureDetails(
            details.ErrorType,
            details.ErrorMessage,
            details.StackTrace,
            details.InnerFailure.ToTaskFailureDetails(),
            details.Properties);

    public static bool IsLive(this Core.OrchestrationStatus status) =>
        status is Core.OrchestrationStatus.Running or Core.OrchestrationStatus.Pending or Core.OrchestrationStatus.Suspended;
}
