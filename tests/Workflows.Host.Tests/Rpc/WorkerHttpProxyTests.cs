using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Workflows.Host.Rpc;
using Xunit;
using Yarp.ReverseProxy.Forwarder;

namespace Workflows.Host.Tests.Rpc;

/// <summary>HTTP-triggered functions answered by the worker's own HTTP server, the request forwarded by the host.</summary>
#pragma warning disable CA1001 // xunit disposes the test class through IAsyncLifetime.DisposeAsync.
public sealed class WorkerHttpProxyTests(WorkerAppFixture fixture) : IClassFixture<WorkerAppFixture>, IAsyncLifetime
#pragma warning restore CA1001
{
    private WebApplication? _app;
    private HttpClient? _http;

    private HttpClient Http => _http ?? throw new InvalidOperationException("Not started.");

    public async Task InitializeAsync()
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.AddHttpForwarder();
        _app = builder.Build();
        var proxy = new WorkerHttpProxy(fixture.Channel, _app.Services.GetRequiredService<IHttpForwarder>(), new WorkerBindings((DurableClientEndpoint?)null));
        _app.Map("/api/echo/{item}", (HttpContext context) => proxy.InvokeAsync(context, "Echo", RouteValues(context)));
        _app.Map("/api/{function}", (HttpContext context) => proxy.InvokeAsync(context, (string)context.GetRouteValue("function")!, RouteValues(context)));
        await _app.StartAsync();
        string address = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        _http = new HttpClient { BaseAddress = new Uri(address) };
    }

    public async Task DisposeAsync()
    {
        _http?.Dispose();
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_get_reaches_the_function_with_its_query_and_its_answer_comes_back()
    {
        using HttpResponseMessage response = await Http.GetAsync(new Uri("api/Hello?name=Ada", UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("Hello, Ada", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_post_keeps_its_body_its_path_its_route_value_and_the_original_host()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri("api/echo/gpu-7", UriKind.Relative)) { Content = new StringContent("payload") };
        request.Headers.Host = "workflows.example:7071";

        using HttpResponseMessage response = await Http.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using JsonDocument echo = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("POST", echo.RootElement.GetProperty("method").GetString());
        Assert.Equal("workflows.example:7071", echo.RootElement.GetProperty("host").GetString());
        Assert.Equal("/api/echo/gpu-7", echo.RootElement.GetProperty("path").GetString());
        Assert.Equal("gpu-7", echo.RootElement.GetProperty("item").GetString());
        Assert.Equal("payload", echo.RootElement.GetProperty("body").GetString());
    }

    [Fact]
    public async Task A_function_that_throws_answers_500_with_a_problem_naming_it()
    {
        using HttpResponseMessage response = await Http.GetAsync(new Uri("api/Fail", UriKind.Relative));

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        string body = await response.Content.ReadAsStringAsync();
        Assert.DoesNotContain("at Workflows.", body, StringComparison.Ordinal);
        Assert.True(response.Content.Headers.ContentType?.MediaType == "application/problem+json" || body.Length == 0, body);
    }

    [Fact]
    public async Task Many_requests_at_once_each_get_their_own_answer()
    {
        string[] answers = await Task.WhenAll(Enumerable.Range(0, 16).Select(i => Http.GetStringAsync(new Uri($"api/Hello?name=n{i}", UriKind.Relative))));

        Assert.Equal(Enumerable.Range(0, 16).Select(i => $"Hello, n{i}"), answers);
    }

    private static Dictionary<string, string> RouteValues(HttpContext context) =>
        context.Request.RouteValues.Where(pair => pair.Value is string).ToDictionary(pair => pair.Key, pair => (string)pair.Value!);
}
