namespace Workflows.Host.Security;

/// <summary>Which key an HTTP-triggered function needs, as in Azure Functions.</summary>
public enum AuthorizationLevel
{
    /// <summary>No key.</summary>
    Anonymous = 0,

    /// <summary>A function key or the master key.</summary>
    Function = 2,

    /// <summary>The master key only.</summary>
    Admin = 4,
}
