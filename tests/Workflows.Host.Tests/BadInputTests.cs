using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Workflows.Testing;
using Xunit;

namespace Workflows.Host.Tests;

[Collection(AzuriteCollection.Name)]
public sealed class BadInputTests(AzuriteFixture azurite)
{
    [Theory]
    [InlineData("api/orchestrators/HelloSequence")]
    [InlineData("runtime/webhooks/durabletask/orchestrators/HelloSequence")]
    public async Task MalformedJson_Answers400ProblemNamingTheProblem(string path)
    {
        await using var host = await TestHost.StartAsync(azurite.ConnectionString);

        using var response = await host.PostAsync(path, "{\"city\": ");
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        Assert.Contains("JSON", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task InvalidInstanceIdOnStart_Answers400()
    {
        await using var host = await TestHost.StartAsync(azurite.ConnectionString);

        using var response = await host.PostAsync("api/orchestrators/HelloSequence/" + new string('x', 300));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
    }

    [Theory]
    [InlineData("garbage")]
    [InlineData("h1 0")]
    [InlineData("wf1.%%%")]
    public async Task ListWithContinuationTokenNotIssued_Answers400ProblemNamingTheHeader(string token)
    {
        await using var host = await TestHost.StartAsync(azurite.ConnectionString);
        await host.StartAsync("HelloSequence", "\"Riga\"");
        using var request = new HttpRequestMessage(HttpMethod.Get, "runtime/webhooks/durabletask/instances?top=1");
        request.Headers.Add("x-ms-continuation-token", token);

        using var response = await host.Http.SendAsync(request);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        Assert.Contains("x-ms-continuation-token", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("PUT", "runtime/webhooks/durabletask/instances/some-id", "GET")]
    [InlineData("GET", "api/orchestrators/HelloSequence", "POST")]
    [InlineData("GET", "runtime/webhooks/durabletask/instances/some-id/terminate", "POST")]
    public async Task WrongMethodOnARoute_Answers405ProblemWithAllow(string method, string path, string allowed)
    {
        await using var host = await TestHost.StartAsync(azurite.ConnectionString);

        using var response = await host.Http.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        Assert.Contains(allowed, response.Content.Headers.Allow);
        Assert.Equal(405, problem.GetProperty("status").GetInt32());
        Assert.Contains(allowed, problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("GET", "runtime/webhooks/durabletask/instances/some-id?showHistory=maybe", "showHistory")]
    [InlineData("GET", "runtime/webhooks/durabletask/instances/some-id?returnInternalServerErrorOnFailure=2", "returnInternalServerErrorOnFailure")]
    [InlineData("POST", "runtime/webhooks/durabletask/instances/some-id/restart?restartWithNewInstanceId=yes", "restartWithNewInstanceId")]
    public async Task QueryValueThatDoesNotBind_Answers400ProblemNamingTheParameter(string method, string path, string parameter)
    {
        await using var host = await TestHost.StartAsync(azurite.ConnectionString);

        using var response = await host.Http.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        Assert.Contains(parameter, problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnknownRoute_Answers404Problem()
    {
        await using var host = await TestHost.StartAsync(azurite.ConnectionString);

        using var response = await host.Http.GetAsync(new Uri("no/such/route", UriKind.Relative));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
    }

    [Theory]
    [InlineData("api/orchestrators/HelloSequence/a%2Fb")]
    [InlineData("api/orchestrators/HelloSequence/a%2fb")]
    [InlineData("runtime/webhooks/durabletask/orchestrators/HelloSequence/a%2Fb")]
    [InlineData("api/orchestrators/HelloSequence/a%5Cb")]
    [InlineData("api/orchestrators/HelloSequence/a%23b")]
    [InlineData("api/orchestrators/HelloSequence/a%3Fb")]
    public async Task InstanceIdWithForbiddenCharacterAfterDecoding_Answers400Problem(string path)
    {
        await using var host = await TestHost.StartAsync(azurite.ConnectionString);

        using var response = await host.PostAsync(path);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        Assert.Contains("not allowed", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("a%20b+c", "a b+c", "a%20b%2Bc")]
    [InlineData("x%252Fy", "x%2Fy", "x%252Fy")]
    public async Task InstanceIdThatNeedsEncoding_IsDecodedOnce_AndItsLinksEncodeItOnce(string requested, string id, string encoded)
    {
        await using var host = await TestHost.StartAsync(azurite.ConnectionString);

        using var response = await host.PostAsync($"api/orchestrators/HelloSequence/{requested}", "\"Vaduz\"");
        var payload = await response.Content.ReadFromJsonAsync<JsonElement>();
        var statusUri = payload.GetProperty("statusQueryGetUri").GetString()!;
        var status = await host.WaitForCompletionAsync(statusUri);
        using var purge = await host.Http.DeleteAsync(new Uri(payload.GetProperty("purgeHistoryDeleteUri").GetString()!));

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal(id, payload.GetProperty("id").GetString());
        foreach (var link in new[] { "statusQueryGetUri", "sendEventPostUri", "terminatePostUri", "purgeHistoryDeleteUri", "restartPostUri", "suspendPostUri", "resumePostUri", "rewindPostUri" })
        {
            var uri = payload.GetProperty(link).GetString()!;
            var instance = $"{host.BaseAddress}/runtime/webhooks/durabletask/instances/{encoded}";
            Assert.StartsWith(instance, uri, StringComparison.Ordinal);
            Assert.True(uri.Length == instance.Length || uri[instance.Length] is '?' or '/', uri);
        }

        Assert.Equal(id, status.GetProperty("instanceId").GetString());
        Assert.Equal(HttpStatusCode.OK, purge.StatusCode);
    }

    [Fact]
    public async Task ExceptionInFunction_Answers500WithErrorIdAndNoDetail_HostStaysUp()
    {
        await using var host = await TestHost.StartAsync(azurite.ConnectionString, app: TestApps.Worker);

        using var boom = await host.Http.GetAsync(new Uri("api/Boom", UriKind.Relative));
        var problem = await boom.Content.ReadFromJsonAsync<JsonElement>();
        using var after = await host.PostAsync("api/Sum", "[1, 2, 3]");

        Assert.Equal(HttpStatusCode.InternalServerError, boom.StatusCode);
        Assert.Equal(32, problem.GetProperty("errorId").GetString()!.Length);
        Assert.DoesNotContain("secret internal detail", problem.ToString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
        Assert.Equal(6, await after.Content.ReadFromJsonAsync<int>());
    }

    [Fact]
    public async Task StartingAnInstanceIdThatIsRunning_Answers409()
    {
        await using var host = await TestHost.StartAsync(azurite.ConnectionString, app: TestApps.Worker);
        var id = await host.StartAsync("WaitForApproval");
        await host.WaitForStatusAsync(id, static s => TestHost.IsStatus(s, "Running"));

        using var again = await host.PostAsync($"api/orchestrators/WaitForApproval/{id}");

        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
    }

    [Fact]
    public async Task FunctionOverFunctionTimeout_IsCancelledAndAnswers500_HostStaysUp()
    {
        await using var host = await TestHost.StartAsync(hostJson: """{ "functionTimeout": "00:00:03", "extensions": { "durableTask": { "hubName": "timeouts" } } }""", app: TestApps.Worker);

        using var slow = await host.Http.GetAsync(new Uri("api/Slow", UriKind.Relative));
        using var after = await host.PostAsync("api/Sum", "[4]");

        Assert.Equal(HttpStatusCode.InternalServerError, slow.StatusCode);
        Assert.True((await slow.Content.ReadFromJsonAsync<JsonElement>()).TryGetProperty("errorId", out _));
        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
    }
}
