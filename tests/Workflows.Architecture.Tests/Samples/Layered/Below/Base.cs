namespace Workflows.Architecture.Tests.Samples.Layered.Below;

/// <summary>The lower layer: knows nothing of the upper one.</summary>
internal static class Base
{
    public static int Value() => 1;
}
