namespace Workflows.Host.Functions;

/// <summary>Binds the input of an activity function; the parameter's type is the input type.</summary>
[AttributeUsage(AttributeTargets.Parameter, AllowMultiple = false, Inherited = false)]
public sealed class ActivityTriggerAttribute : Attribute;
