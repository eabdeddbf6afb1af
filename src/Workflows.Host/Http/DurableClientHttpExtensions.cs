using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.DurableTask.Client;

namespace Workflows.Host.Http;

/// <summary>HTTP helpers for <see cref="DurableTaskClient"/> in HTTP-triggered functions, as Durable Functions offers.</summary>
internal static class DurableClientHttpExtensions
{
    /// <summary>
    /// 202 Accepted for a started instance, with <c>Location</c> (the status URL), <c>Retry-After</c> and Durable
    /// Functions' check-status JSON (<c>id</c>, <c>statusQueryGetUri</c>, <c>sendEventPostUri</c>, ...).
    /// </summary>
    public static IResult CreateCheckStatusResponse(this DurableTaskClient client, HttpRequest request, string instanceId)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(request);
        ArgumentException.ThrowIfNullOrWhiteSpace(instanceId);
        return request.HttpContext.RequestServices.GetRequiredService<CheckStatusLinks>().Accepted(request, instanceId);
    }
}
