using System.Net;
using Workflows.Functions.Canary;
using Xunit;

namespace Workflows.Serving.Tests;

/// <summary>The function app's <see cref="HttpServingAdmin"/> (what CanaryPromotion's activities call) against this service.</summary>
public sealed class CanaryAdminContractTests
{
    [Fact]
    public async Task HttpServingAdmin_ReadsRouting_SetsTheWeight_ReadsAWindow_PromotesAndRollsBack()
    {
        await using var host = await ServingHost.StartAsync(async registry =>
        {
            await TestModels.RegisterAsync(registry, "m", "onnx", TestModels.LinearOnnx());
            await TestModels.RegisterAsync(registry, "m", "onnx", TestModels.LinearOnnx(scale: 2f));
        });
        using var admin = new HttpServingAdmin(host.Client.BaseAddress!, () => ServingHost.AdminKey);
        using var wrongKey = new HttpServingAdmin(host.Client.BaseAddress!, () => "not-the-admin-key-at-all");

        var initial = await admin.GetRouteAsync("m", CancellationToken.None);
        var unknown = await admin.GetRouteAsync("nope", CancellationToken.None);
        var weighted = await admin.SetTrafficAsync("m", 2, 0.5, 2, 1.0, CancellationToken.None);
        var from = DateTimeOffset.UtcNow.AddSeconds(-1);
        for (var i = 0; i < 40; i++)
        {
            _ = await host.PostAsync("v2/models/m/infer", ServingHost.V2Request(TestModels.Rows(1), 1), requestKey: "user-" + i);
        }

        // The stable version's answers are mirrored to the candidate and compared: wait for the background loop.
        var deadline = DateTime.UtcNow.AddSeconds(30);
        ServingWindow window;
        do
        {
            window = await admin.GetMetricsAsync("m", from, DateTimeOffset.UtcNow.AddSeconds(1), CancellationToken.None);
        }
        while (window.Versions.Single(v => v.Version == 2).ShadowCompared < window.Versions.Single(v => v.Version == 1).Requests && DateTime.UtcNow < deadline);

        var promoted = await admin.PromoteAsync("m", 2, CancellationToken.None);
        var rolledBack = await admin.PromoteAsync("m", 1, CancellationToken.None);
        var refused = await Assert.ThrowsAsync<HttpRequestException>(() => wrongKey.GetRouteAsync("m", CancellationToken.None));
        var conflict = await Assert.ThrowsAsync<HttpRequestException>(() => admin.SetTrafficAsync("m", 9, 0.5, null, 0, CancellationToken.None));

        Assert.Equal((1, 2, 0.0, (int?)null), (initial!.Stable, initial.Candidate, initial.CandidateWeight, initial.Shadow));
        Assert.Equal([1, 2], initial.LoadedVersions);
        Assert.Null(unknown);
        Assert.Equal((2, 0.5, (int?)2, 1.0), (weighted.Candidate, weighted.CandidateWeight, weighted.Shadow, weighted.ShadowShare));
        var shadowed = window.Versions.Single(v => v.Version == 2);
        Assert.Equal(window.Versions.Single(v => v.Version == 1).Requests, shadowed.ShadowCompared); // every request version 1 answered
        Assert.InRange(shadowed.ShadowDisagreed, 0, shadowed.ShadowCompared);
        Assert.Equal(40, window.Versions.Sum(v => v.Requests));
        Assert.All(window.Versions, v => Assert.True(v.Requests > 0, $"version {v.Version} got no request"));
        Assert.All(window.Versions, v => Assert.Equal(v.Requests, v.Histogram.Sum(b => b.Count)));
        Assert.All(window.Versions, v => Assert.NotNull(v.P99Ms));
        Assert.All(window.Versions, v => Assert.False(v.Complete)); // its end is still to come
        Assert.Equal((2, (int?)null), (promoted.Stable, promoted.Candidate));
        Assert.Equal(1, rolledBack.Stable);
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, conflict.StatusCode);
        Assert.Contains("no version 9", conflict.Message, StringComparison.Ordinal);
    }
}
