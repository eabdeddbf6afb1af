using Workflows.Host.TaskHub;
using Xunit;

namespace Workflows.Host.Tests.TaskHub;

/// <summary>A host's worker name: stable for the app and hub, never shared by two running hosts, inherited once released.</summary>
public sealed class WorkerIdentityTests : IDisposable
{
    private readonly string _locks = Directory.CreateTempSubdirectory("workflows-identity-").FullName;

    [Fact]
    public void TwoHostsOfOneApp_GetTwoNames_AndAReleasedNameIsTakenAgain()
    {
        using var first = WorkerIdentity.Claim("/srv/app", "Hub", _locks);
        string secondName;
        using (var second = WorkerIdentity.Claim("/srv/app", "Hub", _locks))
        {
            Assert.NotNull(first.Name);
            Assert.NotNull(second.Name);
            Assert.NotEqual(first.Name, second.Name);
            secondName = second.Name;
        }

        using var third = WorkerIdentity.Claim("/srv/app", "Hub", _locks);
        Assert.Equal(secondName, third.Name);
    }

    [Fact]
    public void AnotherAppOrHub_GetsAnotherName()
    {
        using var app = WorkerIdentity.Claim("/srv/app", "Hub", _locks);
        using var otherApp = WorkerIdentity.Claim("/srv/other", "Hub", _locks);
        using var otherHub = WorkerIdentity.Claim("/srv/app", "Hub2", _locks);

        Assert.StartsWith(Environment.MachineName + "-", app.Name, StringComparison.Ordinal);
        Assert.EndsWith("-1", otherApp.Name, StringComparison.Ordinal);
        Assert.NotEqual(app.Name, otherApp.Name);
        Assert.NotEqual(app.Name, otherHub.Name);
    }

    public void Dispose() => Directory.Delete(_locks, recursive: true);
}
