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
        using var first = WorkerIdentity.Claim("/srv/app", "http://127.0.0.1:10000/devstoreaccount1", "Hub", _locks);
        string secondName;
        using (var second = WorkerIdentity.Claim("/srv/app", "http://127.0.0.1:10000/devstoreaccount1", "Hub", _locks))
        {
            Assert.NotNull(first.Name);
            Assert.NotNull(second.Name);
            Assert.NotEqual(first.Name, second.Name);
            secondName = second.Name;
        }

        using var third = WorkerIdentity.Claim("/srv/app", "http://127.0.0.1:10000/devstoreaccount1", "Hub", _locks);
        Assert.Equal(secondName, third.Name);
    }

    [Fact]
    public void AnotherAppOrHub_GetsAnotherName()
    {
        using var app = WorkerIdentity.Claim("/srv/app", "http://127.0.0.1:10000/devstoreaccount1", "Hub", _locks);
        using var otherApp = WorkerIdentity.Claim("/srv/other", "http://127.0.0.1:10000/devstoreaccount1", "Hub", _locks);
        using var otherHub = WorkerIdentity.Claim("/srv/app", "http://127.0.0.1:10000/devstoreaccount1", "Hub2", _locks);

        Assert.StartsWith(Environment.MachineName + "-", app.Name, StringComparison.Ordinal);
        Assert.EndsWith("-1", otherApp.Name, StringComparison.Ordinal);
        Assert.NotEqual(app.Name, otherApp.Name);
        Assert.NotEqual(app.Name, otherHub.Name);
    }

    [Fact]
    public void AnotherStorageAccount_TakesNoSlotFromThisOne()
    {
        using var here = WorkerIdentity.Claim("/srv/app", "http://127.0.0.1:10000/devstoreaccount1", "Hub", _locks);
        using var elsewhere = WorkerIdentity.Claim("/srv/app", "http://127.0.0.1:20000/devstoreaccount1", "Hub", _locks);

        Assert.EndsWith("-1", here.Name, StringComparison.Ordinal);
        Assert.EndsWith("-1", elsewhere.Name, StringComparison.Ordinal);
        Assert.NotEqual(here.Name, elsewhere.Name);
    }

    public void Dispose() => Directory.Delete(_locks, recursive: true);
}
