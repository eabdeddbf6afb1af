using System.Diagnostics;
using System.Reflection;
using System.Text.Json.Nodes;
using Workflows.Host.Azurite;
using Xunit;

namespace Workflows.Serving.Tests;

/// <summary>
/// infra/serving.bicep, the service's Container Apps module, compiles with the Bicep compiler (the NuGet package's
/// binary, offline) without a warning, and the template it gives runs the service as the service expects.
/// </summary>
public sealed class InfraTests
{
    [Fact]
    public async Task ServingModule_Compiles_WithoutWarnings_AndWiresProbesSecretsAndRegistry()
    {
        var module = Path.Combine(AzuriteProcess.FindRepositoryRoot(AppContext.BaseDirectory), "infra", "serving.bicep");

        var (exitCode, template, diagnostics) = await RunBicepAsync("build", module, "--stdout");

        Assert.True(exitCode == 0 && diagnostics.Length == 0, $"bicep build exited {exitCode}: {diagnostics}");
        var app = JsonNode.Parse(template)!["resources"]!.AsArray()
            .Single(resource => (string)resource!["type"]! == "Microsoft.App/containerApps")!;
        var container = app["properties"]!["template"]!["containers"]![0]!;
        var probes = container["probes"]!.AsArray().ToDictionary(probe => (string)probe!["type"]!, probe => (string)probe!["httpGet"]!["path"]!);
        var environment = container["env"]!.AsArray().ToDictionary(variable => (string)variable!["name"]!, variable => variable!);

        Assert.Equal("/v2/health/live", probes["Liveness"]);
        Assert.Equal("/v2/health/ready", probes["Readiness"]);
        Assert.Equal("admin-key", (string)environment["Serving__AdminKey"]["secretRef"]!);
        Assert.Equal("registry-connection", (string)environment["Serving__BlobConnectionString"]["secretRef"]!);
        Assert.Null(environment["Serving__AdminKey"]["value"]);
        Assert.Contains("0.0.0.0", (string)environment["ASPNETCORE_URLS"]["value"]!, StringComparison.Ordinal);
    }

    private static async Task<(int ExitCode, string Output, string Errors)> RunBicepAsync(params string[] arguments)
    {
        var bicep = typeof(InfraTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "BicepPath").Value!;
        var start = new ProcessStartInfo(bicep) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await output, (await errors).Trim());
    }
}
