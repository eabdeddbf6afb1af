using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Serialization;

namespace Workflows.Host.Security;

/// <summary>The host's access keys, as Azure Functions has them: a master key, function keys and system keys.</summary>
internal sealed record HostKeys(
    [property: JsonPropertyName("masterKey")] string MasterKey,
    [property: JsonPropertyName("functionKeys")] IReadOnlyDictionary<string, string> FunctionKeys,
    [property: JsonPropertyName("systemKeys")] IReadOnlyDictionary<string, string> SystemKeys)
{
    /// <summary>Name of the system key that grants the Durable Functions HTTP API (as DF's).</summary>
    public const string DurableTaskExtensionKey = "durabletask_extension";

    public static HostKeys Generate() => new(
        NewKey(),
        new Dictionary<string, string>(StringComparer.Ordinal) { ["default"] = NewKey() },
        new Dictionary<string, string>(StringComparer.Ordinal) { [DurableTaskExtensionKey] = NewKey() });

    /// <summary>True when <paramref name="presented"/> grants <paramref name="level"/>; compared in constant time.</summary>
    public bool Grants(string presented, AuthorizationLevel level, bool systemKeyAccepted)
    {
        // Every candidate is compared (no early exit), so timing does not tell which key nearly matched.
        var master = Same(presented, MasterKey);
        var function = false;
        foreach (var key in FunctionKeys.Values)
        {
            function |= Same(presented, key);
        }

        var system = false;
        foreach (var key in SystemKeys.Values)
        {
            system |= Same(presented, key);
        }

        return level switch
        {
            AuthorizationLevel.Anonymous => true,
            AuthorizationLevel.Function => master | function,
            _ => master | (systemKeyAccepted & system),
        };
    }

    private static bool Same(string presented, string key) =>
        CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(presented), Encoding.UTF8.GetBytes(key));

    private static string NewKey() =>
        Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
