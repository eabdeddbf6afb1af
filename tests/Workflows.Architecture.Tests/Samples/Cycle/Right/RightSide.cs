namespace Workflows.Architecture.Tests.Samples.Cycle.Right;

/// <summary>Uses the left side in a signature, closing the cycle.</summary>
internal static class RightSide
{
    public static string Create() => "right";

    public static Func<int> Back() => Left.LeftSide.Measure;
}
