using Microsoft.Extensions.DependencyInjection;
using Workflows.Functions.Canary;
using Workflows.Testing;
using Xunit;

namespace Workflows.Functions.Tests.Canary;

/// <summary>How the app finds the prediction service's admin API from its settings.</summary>
public sealed class ServingSettingsTests
{
    [Fact]
    public void ServingAdmin_DefaultsToRunShsAddress_AndABadAddressNamesTheSetting()
    {
        using var admin = FunctionRegistrations.ServingAdminFrom(_ => null);
        var bad = Assert.Throws<AppSettingException>(() => FunctionRegistrations.ServingAdminFrom(
            name => name == FunctionRegistrations.ServingUrlSetting ? "ftp://serving" : null));

        Assert.Equal(new Uri("http://127.0.0.1:7072"), admin.BaseAddress);
        Assert.Contains(FunctionRegistrations.ServingUrlSetting, bad.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ServingAdmin_WithoutAKey_FailsItsCall_NamingBothSettings()
    {
        var missing = Path.Combine(Path.GetTempPath(), "no-such-key-" + Guid.NewGuid().ToString("N"));
        using var admin = FunctionRegistrations.ServingAdminFrom(name => name == FunctionRegistrations.ServingAdminKeyFileSetting ? missing : null);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => admin.GetRouteAsync("m", CancellationToken.None));

        Assert.Contains(FunctionRegistrations.ServingAdminKeySetting, error.Message, StringComparison.Ordinal);
        Assert.Contains(missing, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AddWorkflowServices_GivenAServingAdmin_UsesIt_AndOtherwiseReadsTheSettingsOnFirstUse()
    {
        var given = new FakeServing("m", 1);
        using var withGiven = new ServiceCollection().AddWorkflowServices(settings: _ => null, dataRoot: TestStorage.Root, servingAdmin: given).BuildServiceProvider();
        using var fromSettings = new ServiceCollection().AddWorkflowServices(settings: name => name == FunctionRegistrations.ServingUrlSetting ? "http://serving.example:8080" : null, dataRoot: TestStorage.Root).BuildServiceProvider();

        Assert.Same(given, withGiven.GetRequiredService<IServingAdmin>());
        Assert.Equal(new Uri("http://serving.example:8080"), Assert.IsType<HttpServingAdmin>(fromSettings.GetRequiredService<IServingAdmin>()).BaseAddress);
    }
}
