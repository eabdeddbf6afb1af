namespace Workflows.Host.Functions;

/// <summary>
/// Marks a method as a function of the app, as <c>[Function]</c> does in the Azure Functions isolated worker. The
/// method's trigger parameter (<see cref="HttpTriggerAttribute"/>, <see cref="TimerTriggerAttribute"/>,
/// <see cref="OrchestrationTriggerAttribute"/> or <see cref="ActivityTriggerAttribute"/>) says how it is invoked.
/// </summary>
/// <param name="name">Function name, unique in the app (case-insensitive).</param>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false, Inherited = false)]
public sealed class FunctionAttribute(string name) : Attribute
{
    /// <summary>Function name.</summary>
    public string Name { get; } = name;
}
