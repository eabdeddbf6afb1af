namespace Workflows.Architecture.Tests.Samples.Layered.Above;

/// <summary>The upper layer: uses the lower one.</summary>
internal static class User
{
    public static int Twice() => 2 * Below.Base.Value();
}
