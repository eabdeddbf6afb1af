namespace Workflows.Host.Functions;

/// <summary>Binds a <see cref="Microsoft.DurableTask.Client.DurableTaskClient"/> of the host's task hub.</summary>
[AttributeUsage(AttributeTargets.Parameter, AllowMultiple = false, Inherited = false)]
public sealed class DurableClientAttribute : Attribute;
