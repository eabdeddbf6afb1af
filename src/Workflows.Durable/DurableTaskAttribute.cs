namespace Workflows.Durable;

/// <summary>
/// Marks a <see cref="TaskOrchestrator{TInput, TOutput}"/> or <see cref="TaskActivity{TInput, TOutput}"/> class for
/// discovery by the Functions-style host (Durable Functions isolated's class-based style). Without a name the class
/// name is used.
/// </summary>
/// <param name="name">Registered name, or null for the class name.</param>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false, Inherited = false)]
public sealed class DurableTaskAttribute(string? name = null) : Attribute
{
    /// <summary>Registered name, or null for the class name.</summary>
    public string? Name { get; } = name;
}
