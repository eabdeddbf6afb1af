using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Workflows.Functions.Samples;
using Workflows.Host.Configuration;
using Workflows.Host.Hosting;
using Workflows.Testing;
using Xunit;

namespace Workflows.Host.Tests;

[Collection(AzuriteCollection.Name)]
public sealed class HostStartupTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task Start_OnAzurite_RunsDiscoveredOrchestrationsThroughTheDurableClient()
    {
        await using var host = await TestHost.StartAsync(azurite.ConnectionString);
        var client = host.App.Services.GetRequiredService<DurableTaskClient>();

        var id = await client.ScheduleNewOrchestrationInstanceAsync(HelloSequence.Name, "Lisbon");
        using var timeout = new CancellationTokenSource(TestHost.SafetyTimeout);
        var result = await client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, timeout.Token);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, result.RuntimeStatus);
        Assert.Equal(["Hello Lisbon!", "Hello Seattle!", "Hello London!"], result.ReadOutputAs<string[]>()!);
    }

    [Fact]
    public async Task Start_InMemory_ListsFunctionsWithUrlsAndAnswers404ForUnknownRoutes()
    {
        await using var host = await TestHost.StartAsync();

        var listing = host.App.Services.GetServices<Microsoft.Extensions.Hosting.IHostedService>().OfType<FunctionListing>().Single().Describe(host.BaseAddress);
        using var response = await host.Http.GetAsync(new Uri("api/no-such-function", UriKind.Relative));

        Assert.Contains("HelloSequence: orchestrationTrigger", listing, StringComparison.Ordinal);
        Assert.Contains("SayHello: activityTrigger", listing, StringComparison.Ordinal);
        Assert.Contains($"{host.BaseAddress}/runtime/webhooks/durabletask/", listing, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Theory]
    [InlineData(null, "Development")]
    [InlineData("AZURE_FUNCTIONS_ENVIRONMENT=Staging", "Staging")]
    public async Task HostingEnvironment_FollowsAzureFunctionsEnvironment(string? setting, string expected)
    {
        await using var host = await TestHost.StartAsync(settings: setting is null ? [] : [setting]);

        Assert.Equal(expected, host.App.Services.GetRequiredService<IHostEnvironment>().EnvironmentName);
        Assert.Equal(expected, host.App.Environment.EnvironmentName);
    }

    [Fact]
    public async Task Start_InvalidHostJson_FailsBeforeServingNamingTheKey()
    {
        var error = await Assert.ThrowsAsync<HostConfigurationException>(() =>
            TestHost.StartAsync(hostJson: """{ "extensions": { "durableTask": { "maxConcurrentActivityFunctions": -3 } } }"""));

        Assert.Contains("extensions.durableTask.maxConcurrentActivityFunctions", error.Message, StringComparison.Ordinal);
    }
}

public sealed class HostUrlTests
{
    [Theory]
    [InlineData(null, "http://127.0.0.1:7071")]
    [InlineData("http://127.0.0.1:8088", "http://127.0.0.1:8088")]
    public void Builder_BindsLoopback7071UnlessUrlsAreGiven(string? urls, string expected)
    {
        var args = new List<string> { "--WorkflowsStorageProvider=InMemory", "--WorkflowsExportLocalSettings=false", "--AzureWebJobsScriptRoot=" + AppContext.BaseDirectory };
        if (urls is not null)
        {
            args.Add("--urls=" + urls);
        }

        var builder = new FunctionsHostBuilder([.. args]);

        Assert.Equal(expected, builder.ConfiguredUrls);
    }
}
