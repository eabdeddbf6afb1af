using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Workflows.ML.Registry;
using Workflows.Serving.Hosting;
using Workflows.Serving.Models;

namespace Workflows.Serving.Tests;

/// <summary>The service on Kestrel on a free loopback port over a local registry in a temporary data root.</summary>
internal sealed class ServingHost : IAsyncDisposable
{
    public const string AdminKey = "test-admin-key-0123456789";

    private readonly bool _ownsRoot;

    private ServingHost(WebApplication app, string root, IModelRegistry registry, bool ownsRoot)
    {
        _ownsRoot = ownsRoot;
        App = app;
        Root = root;
        Registry = registry;
        Client = new HttpClient { BaseAddress = new Uri(app.Urls.First().TrimEnd('/') + "/") };
        Admin = new HttpClient { BaseAddress = Client.BaseAddress };
        Admin.DefaultRequestHeaders.Add("x-admin-key", AdminKey);
    }

    public WebApplication App { get; }

    public string Root { get; }

    public IModelRegistry Registry { get; }

    public HttpClient Client { get; }

    public HttpClient Admin { get; }

    public ModelCatalog Catalog => App.Services.GetRequiredService<ModelCatalog>();

    /// <summary>Starts a service; <paramref name="seed"/> registers models before it starts.</summary>
    public static Task<ServingHost> StartAsync(Func<IModelRegistry, Task>? seed = null, params string[] settings) =>
        StartAsync(root: null, logs: null, seed, settings);

    /// <summary>
    /// Starts a service on the data root <paramref name="root"/> (a new temporary one, deleted on dispose, when null;
    /// a given one is left in place), logging to <paramref name="logs"/> as well when given.
    /// </summary>
    public static async Task<ServingHost> StartAsync(string? root, ILoggerProvider? logs, Func<IModelRegistry, Task>? seed = null, params string[] settings)
    {
        var ownsRoot = root is null;
        root ??= Directory.CreateTempSubdirectory("wf-serving-").FullName;
        var registry = new LocalFolderModelRegistry(Path.Combine(root, "models"));
        if (seed is not null)
        {
            await seed(registry);
        }

        var builder = ServingApplication.CreateBuilder(
        [
            "--urls=http://127.0.0.1:0",
            "--WorkflowsDataRoot=" + root,
            "--Serving:RegistryPollSeconds=0",
            "--Serving:AdminKey=" + AdminKey,
            "--Serving:MaxRequestBodyBytes=65536",
            .. settings,
        ]);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        if (logs is not null)
        {
            builder.Logging.AddProvider(logs);
        }

        var app = ServingApplication.Build(builder);
        await app.StartAsync();
        var host = new ServingHost(app, root, registry, ownsRoot);

        // The start-up scan runs in the background; a refresh waits for it (one scan at a time) and loads anything left.
        await host.Catalog.RefreshAsync(CancellationToken.None);
        return host;
    }

    public static JsonObject V2Request(float[] data, int rows, int features = TestModels.Features, string? id = null, string datatype = "FP32", string name = "features")
    {
        var request = new JsonObject
        {
            ["inputs"] = new JsonArray(new JsonObject
            {
                ["name"] = name,
                ["shape"] = new JsonArray(rows, features),
                ["datatype"] = datatype,
                ["data"] = new JsonArray(data.Select(value => (JsonNode)JsonValue.Create(value)).ToArray()),
            }),
        };
        if (id is not null)
        {
            request["id"] = id;
        }

        return request;
    }

    public async Task<(HttpResponseMessage Response, JsonObject Body)> PostAsync(string path, JsonNode body, HttpClient? client = null, string? requestKey = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = JsonContent.Create(body) };
        if (requestKey is not null)
        {
            request.Headers.Add("x-request-key", requestKey);
        }

        var response = await (client ?? Client).SendAsync(request);
        return (response, await ReadAsync(response));
    }

    public async Task<(HttpResponseMessage Response, JsonObject Body)> GetAsync(string path, HttpClient? client = null)
    {
        var response = await (client ?? Client).GetAsync(path);
        return (response, await ReadAsync(response));
    }

    public static float[] Floats(JsonObject response, string output) =>
        response["outputs"]!.AsArray().Single(o => (string)o!["name"]! == output)!["data"]!.AsArray().Select(v => (float)v!).ToArray();

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        Admin.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
        if (_ownsRoot)
        {
            Directory.Delete(Root, recursive: true);
        }
    }

    private static async Task<JsonObject> ReadAsync(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        return text.Length > 0 && text[0] == '{' ? JsonNode.Parse(text)!.AsObject() : new JsonObject { ["text"] = text };
    }

    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
}
