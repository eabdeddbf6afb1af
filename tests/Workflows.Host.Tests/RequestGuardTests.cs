using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Xunit;

namespace Workflows.Host.Tests;

/// <summary>
/// A web page the developer visits cannot reach the host: cross-site forms and <c>text/plain</c> posts are refused on
/// the starters and the management API, and while keys are off a Host header other than a loopback or allowed name is
/// refused (DNS rebinding). Each refusal starts nothing.
/// </summary>
public sealed class RequestGuardTests
{
    private const string Api = "runtime/webhooks/durabletask";

    [Theory]
    [InlineData("api/orchestrators/HelloSequence")]
    [InlineData(Api + "/orchestrators/HelloSequence")]
    public async Task TextPlainPost_FromAForeignOrigin_Is403AndStartsNothing(string path)
    {
        await using var host = await TestHost.StartAsync();

        using var response = await Send(host, HttpMethod.Post, path, "\"Bern\"", "text/plain", origin: "https://attacker.example");

        await AssertProblemAsync(response, HttpStatusCode.Forbidden, "origin 'https://attacker.example'");
        Assert.Equal(0, await CountInstancesAsync(host));
    }

    [Theory]
    [InlineData("api/fanout/10", "text/plain")]
    [InlineData("api/hello/Oslo", "application/x-www-form-urlencoded")]
    [InlineData("api/hello/Oslo", null)]
    public async Task PostToAnHttpFunction_FromAForeignOrigin_Is403AndStartsNothing(string path, string? contentType)
    {
        await using var host = await TestHost.StartAsync();

        using var response = await Send(host, HttpMethod.Post, path, contentType is null ? null : "x=1", contentType, origin: "https://attacker.example");

        await AssertProblemAsync(response, HttpStatusCode.Forbidden, "origin 'https://attacker.example'");
        Assert.Equal(0, await CountInstancesAsync(host));
    }

    [Fact]
    public async Task PreflightFromAForeignOrigin_IsOfferedNoCors()
    {
        await using var host = await TestHost.StartAsync();
        using var request = new HttpRequestMessage(HttpMethod.Options, new Uri("api/orchestrators/HelloSequence", UriKind.Relative));
        request.Headers.Add("Origin", "https://attacker.example");
        request.Headers.Add("Access-Control-Request-Method", "POST");
        request.Headers.Add("Access-Control-Request-Headers", "content-type");

        using var response = await host.Http.SendAsync(request);

        Assert.False(response.IsSuccessStatusCode, $"a preflight answered {response.StatusCode}");
        Assert.DoesNotContain(response.Headers, static h => h.Key.StartsWith("Access-Control-", StringComparison.OrdinalIgnoreCase));
    }

    [Theory]
    [InlineData("text/plain")]
    [InlineData("application/x-www-form-urlencoded")]
    [InlineData("multipart/form-data; boundary=x")]
    public async Task NonJsonBody_OnTheStarter_Is415AndStartsNothing(string contentType)
    {
        await using var host = await TestHost.StartAsync();

        using var response = await Send(host, HttpMethod.Post, "api/orchestrators/HelloSequence", "\"Bern\"", contentType);

        await AssertProblemAsync(response, HttpStatusCode.UnsupportedMediaType, "application/json");
        Assert.Equal(0, await CountInstancesAsync(host));
    }

    [Fact]
    public async Task NonJsonBody_OnTheManagementApi_Is415()
    {
        await using var host = await TestHost.StartAsync();
        var id = await host.StartAsync("HelloSequence", "\"Bern\"");

        using var response = await Send(host, HttpMethod.Post, $"{Api}/instances/{id}/raiseEvent/approve", "true", "text/plain");

        await AssertProblemAsync(response, HttpStatusCode.UnsupportedMediaType, "'text/plain'");
    }

    [Fact]
    public async Task JsonPost_FromTheHostsOwnLoopbackOrigin_Is202()
    {
        await using var host = await TestHost.StartAsync();

        using var withOrigin = await Send(host, HttpMethod.Post, "api/orchestrators/HelloSequence", "\"Bern\"", "application/json; charset=utf-8", origin: host.BaseAddress.TrimEnd('/'));
        using var bodyless = await Send(host, HttpMethod.Post, "api/orchestrators/HelloSequence", json: null, contentType: null);
        using var typedStarter = await Send(host, HttpMethod.Post, "api/hello/Oslo", json: null, contentType: null, origin: host.BaseAddress.TrimEnd('/'));

        Assert.Equal(HttpStatusCode.Accepted, withOrigin.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, bodyless.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, typedStarter.StatusCode);
    }

    [Theory]
    [InlineData("api/orchestrators/HelloSequence")]
    [InlineData(Api + "/instances")]
    [InlineData("")]
    public async Task RebindingHostHeader_WhileKeysAreOff_Is400(string path)
    {
        await using var host = await TestHost.StartAsync();

        using var response = await Send(host, path.Length > 0 && path.StartsWith("api", StringComparison.Ordinal) ? HttpMethod.Post : HttpMethod.Get, path, "\"x\"", "application/json", hostHeader: "attacker.example");

        await AssertProblemAsync(response, HttpStatusCode.BadRequest, "Host header 'attacker.example'");
        Assert.Equal(0, await CountInstancesAsync(host));
    }

    [Theory]
    [InlineData("localhost")]
    [InlineData("127.0.0.1")]
    [InlineData("[::1]")]
    [InlineData("dev.localhost")]
    public async Task LoopbackHostHeader_WhileKeysAreOff_IsServed(string name)
    {
        await using var host = await TestHost.StartAsync();

        using var response = await Send(host, HttpMethod.Get, Api + "/instances", json: null, contentType: null, hostHeader: name);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task AllowedHostHeader_WhileKeysAreOff_IsServed()
    {
        await using var host = await TestHost.StartAsync(settings: "WorkflowsAllowedHosts=devbox.test, other.test");

        using var allowed = await Send(host, HttpMethod.Get, Api + "/instances", json: null, contentType: null, hostHeader: "devbox.test");
        using var refused = await Send(host, HttpMethod.Get, Api + "/instances", json: null, contentType: null, hostHeader: "devbox.test.attacker.example");

        Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
    }

    private static async Task<HttpResponseMessage> Send(
        TestHost host, HttpMethod method, string path, string? json, string? contentType, string? origin = null, string? hostHeader = null)
    {
        using var request = new HttpRequestMessage(method, new Uri(path, UriKind.Relative));
        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8);
            request.Content.Headers.ContentType = contentType is null ? null : System.Net.Http.Headers.MediaTypeHeaderValue.Parse(contentType);
        }

        if (origin is not null)
        {
            request.Headers.Add("Origin", origin);
        }

        if (hostHeader is not null)
        {
            request.Headers.Host = hostHeader;
        }

        return await host.Http.SendAsync(request);
    }

    private static async Task AssertProblemAsync(HttpResponseMessage response, HttpStatusCode status, string detail)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Contains(detail, problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    private static async Task<int> CountInstancesAsync(TestHost host) =>
        (await host.Http.GetFromJsonAsync<JsonElement>(new Uri(Api + "/instances", UriKind.Relative))).GetArrayLength();
}
