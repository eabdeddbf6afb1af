using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Workflows.Serving.Configuration;
using Workflows.Serving.Diagnostics;

namespace Workflows.Serving.Http;

/// <summary>
/// Guards <c>/admin</c>: the <c>x-admin-key</c> header must equal <c>Serving:AdminKey</c>, compared in constant time
/// (both hashed first, so neither the key's bytes nor its length show in the timing). Without a configured key the
/// admin API is off (403). The key is never logged.
/// </summary>
internal sealed class AdminKeyFilter(IOptions<ServingOptions> options, ILogger<AdminKeyFilter> logger) : IEndpointFilter
{
    public const string Header = "x-admin-key";

    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(next);
        var key = options.Value.AdminKey;
        if (string.IsNullOrEmpty(key))
        {
            return Problems.Create(StatusCodes.Status403Forbidden, "Forbidden", "The admin API is off: set Serving:AdminKey to turn it on.");
        }

        var presented = context.HttpContext.Request.Headers[Header].ToString();
        if (!Same(presented, key))
        {
            ServingLog.AdminRefused(logger, context.HttpContext.Request.Path);
            return Problems.Create(StatusCodes.Status401Unauthorized, "Unauthorized", $"Send the admin key in the {Header} header.");
        }

        return await next(context).ConfigureAwait(false);
    }

    internal static bool Same(string presented, string key) =>
        CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(presented)), SHA256.HashData(Encoding.UTF8.GetBytes(key)));
}
