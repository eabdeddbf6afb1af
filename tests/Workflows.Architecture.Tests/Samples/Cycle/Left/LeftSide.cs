namespace Workflows.Architecture.Tests.Samples.Cycle.Left;

/// <summary>Uses the right side only inside a method body: the dependency reader must see it there.</summary>
internal static class LeftSide
{
    public static int Measure() => Right.RightSide.Create().Length;
}
