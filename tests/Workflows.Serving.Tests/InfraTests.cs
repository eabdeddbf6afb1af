using System.Diagnostics;
using System.Reflection;
using System.Text.Json.Nodes;
using System.Xml.Linq;
using Workflows.Host.Azurite;
using Xunit;

namespace Workflows.Serving.Tests;

/// <summary>
/// The Bicep modules in infra/ compile and lint with the Bicep compiler (the NuGet package's binary, offline) without a
/// warning, and the templates they give run the service and the function app as they expect: serving.bicep (the
/// prediction service on Container Apps) and functionapp.bicep (the function app on Flex Consumption).
/// </summary>
public sealed class InfraTests
{
    // Built-in role definition ids (the same in every tenant).
    private const string StorageBlobDataOwner = "b7e6dc6d-f1e8-4753-8033-0f276bb0955b";
    private const string StorageQueueDataContributor = "974c5e8b-45b9-4653-ba55-5f855dd0fb88";
    private const string StorageTableDataContributor = "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3";

    [Theory]
    [InlineData("serving.bicep")]
    [InlineData("functionapp.bicep")]
    public async Task Module_BuildsAndLints_WithoutWarnings(string module)
    {
        await BuildAsync(module);

        var (exitCode, _, diagnostics) = await RunBicepAsync("lint", ModulePath(module));

        Assert.True(exitCode == 0 && diagnostics.Length == 0, $"bicep lint {module} exited {exitCode}: {diagnostics}");
    }

    [Fact]
    public async Task ServingModule_WiresProbesSecretsAndRegistry()
    {
        var (_, template) = await BuildAsync("serving.bicep");
        var app = Resource(template, "Microsoft.App/containerApps");
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

    [Fact]
    public async Task FunctionAppModule_RunsOnFlexConsumption_AndReachesStorageWithItsIdentity()
    {
        var (text, template) = await BuildAsync("functionapp.bicep");

        // No account key is read anywhere: not for the host's storage, not for a setting, not for an output.
        Assert.DoesNotContain("listKeys(", text, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("AccountKey", text, StringComparison.OrdinalIgnoreCase);

        var plan = Resource(template, "Microsoft.Web/serverfarms");
        Assert.Equal("FC1", (string)plan["sku"]!["name"]!);
        Assert.Equal("FlexConsumption", (string)plan["sku"]!["tier"]!);
        Assert.True((bool)plan["properties"]!["reserved"]!);

        var app = Resource(template, "Microsoft.Web/sites");
        var properties = app["properties"]!;
        Assert.Equal("functionapp,linux", (string)app["kind"]!);
        Assert.Equal("SystemAssigned", (string)app["identity"]!["type"]!);
        Assert.True((bool)properties["httpsOnly"]!);
        Assert.Equal("1.2", (string)properties["siteConfig"]!["minTlsVersion"]!);
        Assert.Contains("Microsoft.Web/serverfarms", (string)properties["serverFarmId"]!, StringComparison.Ordinal);

        // The isolated worker on the .NET version the app targets; the package deployed to a container of the
        // account, fetched with the app's identity.
        var config = properties["functionAppConfig"]!;
        Assert.Equal("dotnet-isolated", (string)config["runtime"]!["name"]!);
        Assert.Equal("[parameters('dotnetVersion')]", (string)config["runtime"]!["version"]!);
        Assert.Equal(TargetDotnetVersion(), (string)template["parameters"]!["dotnetVersion"]!["defaultValue"]!);
        Assert.Equal("blobContainer", (string)config["deployment"]!["storage"]!["type"]!);
        Assert.Equal("SystemAssignedIdentity", (string)config["deployment"]!["storage"]!["authentication"]!["type"]!);
        Assert.Contains("primaryEndpoints.blob", (string)config["deployment"]!["storage"]!["value"]!, StringComparison.Ordinal);
        Assert.Equal("[parameters('maximumInstanceCount')]", (string)config["scaleAndConcurrency"]!["maximumInstanceCount"]!);
        Assert.Equal("[parameters('instanceMemoryMB')]", (string)config["scaleAndConcurrency"]!["instanceMemoryMB"]!);

        // Identity-based host storage; no connection string but Application Insights'; the task hub and provider set.
        var settings = properties["siteConfig"]!["appSettings"]!.AsArray()
            .ToDictionary(setting => (string)setting!["name"]!, setting => setting!["value"]!.GetValue<string>());
        Assert.Equal("[variables('storageAccountName')]", settings["AzureWebJobsStorage__accountName"]);
        Assert.Equal("managedidentity", settings["AzureWebJobsStorage__credential"]);
        Assert.DoesNotContain("AzureWebJobsStorage", settings.Keys);
        Assert.Equal(new[] { "APPLICATIONINSIGHTS_CONNECTION_STRING" }, settings.Keys.Where(name => name.Contains("CONNECTION", StringComparison.OrdinalIgnoreCase)));
        Assert.Contains("Microsoft.Insights/components", settings["APPLICATIONINSIGHTS_CONNECTION_STRING"], StringComparison.Ordinal);
        Assert.Equal("[parameters('taskHubName')]", settings["AzureFunctionsJobHost__extensions__durableTask__hubName"]);
        Assert.Equal("WorkflowsHub", (string)template["parameters"]!["taskHubName"]!["defaultValue"]!);
        Assert.Equal("AzureStorage", settings["AzureFunctionsJobHost__extensions__durableTask__storageProvider__type"]);
        Assert.Equal("[parameters('dataRoot')]", settings["WorkflowsDataRoot"]);

        // The retraining timer: its schedule and input from parameters, and off unless enabled (as the app ships it).
        Assert.Equal("[parameters('retrainingSchedule')]", settings["WorkflowsRetrainingSchedule"]);
        Assert.Equal("0 0 2 * * *", (string)template["parameters"]!["retrainingSchedule"]!["defaultValue"]!);
        Assert.Equal("[parameters('retrainingInput')]", settings["WorkflowsRetrainingInput"]);
        Assert.Equal("[if(parameters('retrainingTimerEnabled'), 'false', 'true')]", settings["AzureWebJobs.RetrainingTimer.Disabled"]);
        Assert.False((bool)template["parameters"]!["retrainingTimerEnabled"]!["defaultValue"]!);

        // Flex Consumption refuses the settings its functionAppConfig replaces.
        Assert.DoesNotContain("FUNCTIONS_WORKER_RUNTIME", settings.Keys);
        Assert.DoesNotContain("FUNCTIONS_EXTENSION_VERSION", settings.Keys);
        Assert.DoesNotContain("WEBSITE_RUN_FROM_PACKAGE", settings.Keys);

        // The three data roles, given to the app's identity on the Storage account.
        var storage = Resource(template, "Microsoft.Storage/storageAccounts");
        var roles = Resources(template, "Microsoft.Authorization/roleAssignments").ToList();
        Assert.Equal(3, roles.Count);
        Assert.All(roles, role =>
        {
            Assert.Equal("[resourceId('Microsoft.Storage/storageAccounts', variables('storageAccountName'))]", (string)role["scope"]!);
            var principal = (string)role["properties"]!["principalId"]!;
            Assert.StartsWith("[reference(resourceId('Microsoft.Web/sites', variables('functionAppName'))", principal, StringComparison.Ordinal);
            Assert.EndsWith(".identity.principalId]", principal, StringComparison.Ordinal);
            Assert.Equal("ServicePrincipal", (string)role["properties"]!["principalType"]!);
        });
        Assert.Equal(
            new[] { StorageBlobDataOwner, StorageQueueDataContributor, StorageTableDataContributor }.Order(),
            roles.Select(role => RoleDefinitionId((string)role["properties"]!["roleDefinitionId"]!)).Order());
        Assert.Equal("[variables('storageAccountName')]", (string)storage["name"]!);

        // The account: no anonymous blob access, TLS 1.2 and HTTPS only; containers for the package, datasets and models.
        Assert.False((bool)storage["properties"]!["allowBlobPublicAccess"]!);
        Assert.Equal("TLS1_2", (string)storage["properties"]!["minimumTlsVersion"]!);
        Assert.True((bool)storage["properties"]!["supportsHttpsTrafficOnly"]!);
        Assert.Equal("datasets", (string)template["variables"]!["datasetContainerName"]!);
        Assert.Equal("models", (string)template["variables"]!["modelContainerName"]!);
        var containers = Resource(template, "Microsoft.Storage/storageAccounts/blobServices/containers");
        Assert.All(
            new[] { "deploymentContainerName", "datasetContainerName", "modelContainerName" },
            name => Assert.Contains($"variables('{name}')", (string)containers["copy"]!["count"]!, StringComparison.Ordinal));
        Assert.Equal("None", (string)containers["properties"]!["publicAccess"]!);

        // Workspace-based Application Insights.
        var insights = Resource(template, "Microsoft.Insights/components");
        Assert.Contains("Microsoft.OperationalInsights/workspaces", (string)insights["properties"]!["WorkspaceResourceId"]!, StringComparison.Ordinal);

        Assert.Equal(new[] { "defaultHostName", "functionAppName", "storageAccountName" }, template["outputs"]!.AsObject().Select(output => output.Key).Order());
        Assert.All(template["outputs"]!.AsObject(), output => Assert.Equal("string", (string)output.Value!["type"]!));
    }

    private static string ModulePath(string module) =>
        Path.Combine(AzuriteProcess.FindRepositoryRoot(AppContext.BaseDirectory), "infra", module);

    /// <summary>Compiles <paramref name="module"/> to an ARM template, failing on any warning or error.</summary>
    private static async Task<(string Text, JsonNode Template)> BuildAsync(string module)
    {
        var (exitCode, template, diagnostics) = await RunBicepAsync("build", ModulePath(module), "--stdout");

        Assert.True(exitCode == 0 && diagnostics.Length == 0, $"bicep build {module} exited {exitCode}: {diagnostics}");
        return (template, JsonNode.Parse(template)!);
    }

    private static IEnumerable<JsonNode> Resources(JsonNode template, string type) =>
        template["resources"]!.AsArray().Where(resource => (string)resource!["type"]! == type).Select(resource => resource!);

    private static JsonNode Resource(JsonNode template, string type) => Resources(template, type).Single();

    /// <summary>The built-in role's id in <c>[subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '{id}')]</c>.</summary>
    private static string RoleDefinitionId(string expression)
    {
        const string Prefix = "[subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '";
        Assert.StartsWith(Prefix, expression, StringComparison.Ordinal);
        Assert.EndsWith("')]", expression, StringComparison.Ordinal);
        return expression[Prefix.Length..^"')]".Length];
    }

    /// <summary>The .NET version the repository's projects target (Directory.Build.props: net10.0 gives "10.0").</summary>
    private static string TargetDotnetVersion()
    {
        var props = XDocument.Load(Path.Combine(AzuriteProcess.FindRepositoryRoot(AppContext.BaseDirectory), "Directory.Build.props"));
        var framework = props.Descendants("TargetFramework").Single().Value;
        return framework["net".Length..];
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
