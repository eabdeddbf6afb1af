using System.Net;
using System.Text.Json.Nodes;
using Workflows.Functions.Canary;
using Workflows.Serving.Batching;
using Workflows.Serving.Monitoring;
using Xunit;

namespace Workflows.Serving.Tests;

public sealed class PredictionSampleTests
{
    [Fact]
    public void Record_MoreRowsThanItKeeps_KeepsTheLastRowsOldestFirst()
    {
        var sample = new PredictionSample(capacity: 5, features: 2);
        for (var request = 0; request < 4; request++)
        {
            // Two rows per request: features (r, −r), one output value per row (the prediction itself).
            float[] inputs = [2 * request, -2 * request, (2 * request) + 1, -((2 * request) + 1)];
            sample.Record(inputs, 2, new ScoreResult(2, 1, [0.1f * 2 * request, 0.1f * ((2 * request) + 1)], null), second: 100 + request);
        }

        var rows = sample.Read(max: 10);

        Assert.Equal(8, rows.Recorded);
        Assert.Equal(5, rows.Rows);
        Assert.Equal([3f, -3, 4, -4, 5, -5, 6, -6, 7, -7], rows.Inputs);
        Assert.Equal([0.3f, 0.4f, 0.5f, 0.6f, 0.7f], rows.Predictions.Select(p => MathF.Round(p, 3)));
        Assert.Equal([6f, 7], sample.Read(max: 2).Inputs.Where((_, i) => i % 2 == 0));
        // Rows answered in seconds 102 up to 103: request 2's rows (4, 5) only.
        Assert.Equal([4f, -4, 5, -5], sample.Read(max: 10, fromSecond: 102, toSecond: 103).Inputs);
        Assert.Empty(sample.Read(max: 10, fromSecond: 200).Predictions);
    }

    [Fact]
    public void Record_RequestLargerThanTheRing_KeepsItsLastRows_AndClassOutputsBecomeTheLabel()
    {
        var sample = new PredictionSample(capacity: 3, features: 1);
        sample.Record([1, 2, 3, 4], 4, new ScoreResult(4, 3, [0.1f, 0.8f, 0.1f, 0.7f, 0.2f, 0.1f, 0.1f, 0.1f, 0.8f, 0.3f, 0.3f, 0.4f], [1, 0, 2, 2]), second: 1);

        var rows = sample.Read(max: 3);

        Assert.Equal(4, rows.Recorded);
        Assert.Equal([2f, 3, 4], rows.Inputs);
        Assert.Equal([0f, 2, 2], rows.Predictions);
    }

    [Fact]
    public void Record_OnTheHotPath_AllocatesNothing()
    {
        var sample = new PredictionSample(capacity: 1_000, features: 100);
        var inputs = new float[100];
        var single = new ScoreResult(1, 1, [0.5f], null);
        var labelled = new ScoreResult(1, 3, [0.2f, 0.5f, 0.3f], [1]);
        sample.Record(inputs, 1, single, second: 1);
        sample.Record(inputs, 1, labelled, second: 1);

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 10_000; i++)
        {
            sample.Record(inputs, 1, (i & 1) == 0 ? single : labelled, second: 2);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void Record_ConcurrentWriters_EveryRowIsOneWritersWholeRow()
    {
        var sample = new PredictionSample(capacity: 64, features: 8);
        Parallel.For(0, 4_000, i =>
        {
            var row = Enumerable.Repeat((float)i, 8).ToArray();
            sample.Record(row, 1, new ScoreResult(1, 1, [i], null), second: 1);
        });

        var rows = sample.Read(max: 64);

        Assert.Equal(4_000, rows.Recorded);
        for (var r = 0; r < rows.Rows; r++)
        {
            Assert.All(rows.Inputs.AsSpan(r * 8, 8).ToArray(), value => Assert.Equal(rows.Predictions[r], value));
        }
    }

    [Fact]
    public async Task SampleEndpoint_ThroughHttpServingAdmin_GivesWhatEachVersionAnswered()
    {
        await using var host = await ServingHost.StartAsync(
            async registry =>
            {
                await TestModels.RegisterAsync(registry, "m", "onnx", TestModels.LinearOnnx());
                await TestModels.RegisterAsync(registry, "m", "onnx", TestModels.LinearOnnx(scale: 2f));
            },
            "--Serving:SampleRows=50");
        using var admin = new HttpServingAdmin(host.Client.BaseAddress!, () => ServingHost.AdminKey);
        var data = TestModels.Rows(3);
        data[1] = float.NaN;
        var answers = new List<float>();
        for (var i = 0; i < 20; i++)
        {
            var request = ServingHost.V2Request(data, 3);
            request["inputs"]![0]!["data"]![1] = null; // a missing value
            var (response, body) = await host.PostAsync("v2/models/m/infer", request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            answers.AddRange(ServingHost.Floats(body, "probabilities"));
        }

        _ = await host.PostAsync("v2/models/m/versions/2/infer", ServingHost.V2Request(TestModels.Rows(2, seed: 9), 2));

        var stable = await admin.GetSampleAsync("m", null, 1_000, null, null, CancellationToken.None);
        var recent = await admin.GetSampleAsync("m", 1, 4, DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddMinutes(1), CancellationToken.None);
        var candidate = await admin.GetSampleAsync("m", 2, 1_000, null, null, CancellationToken.None);
        var empty = await admin.GetSampleAsync("m", 2, 1_000, DateTimeOffset.UtcNow.AddMinutes(-10), DateTimeOffset.UtcNow.AddMinutes(-9), CancellationToken.None);
        var unknown = await Assert.ThrowsAsync<HttpRequestException>(() => admin.GetSampleAsync("m", 7, 10, null, null, CancellationToken.None));
        using var wrongKey = new HttpServingAdmin(host.Client.BaseAddress!, () => "not-the-admin-key-at-all");
        var refused = await Assert.ThrowsAsync<HttpRequestException>(() => wrongKey.GetSampleAsync("m", null, 10, null, null, CancellationToken.None));

        Assert.Equal((1, 4, 60L, 50), (stable.Version, stable.Features, stable.Recorded, stable.Rows));
        Assert.Equal(answers[^50..], stable.Predictions);
        Assert.True(float.IsNaN(stable.Inputs[stable.Inputs.Length - (3 * 4) + 1]));
        Assert.Equal(data[2..], stable.Inputs[^((3 * 4) - 2)..]);
        Assert.Equal(4, recent.Rows);
        Assert.Equal(answers[^4..], recent.Predictions);
        Assert.Equal((2, 2), (candidate.Version, candidate.Rows));
        Assert.Equal(TestModels.Rows(2, seed: 9), candidate.Inputs);
        Assert.Equal(0, empty.Rows);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
    }

    [Fact]
    public async Task SampleEndpoint_SampleRowsZero_Is409()
    {
        await using var host = await ServingHost.StartAsync(registry => TestModels.RegisterAsync(registry, "m", "onnx", TestModels.LinearOnnx()), "--Serving:SampleRows=0");
        using var admin = new HttpServingAdmin(host.Client.BaseAddress!, () => ServingHost.AdminKey);
        _ = await host.PostAsync("v2/models/m/infer", ServingHost.V2Request(TestModels.Rows(1), 1));

        var error = await Assert.ThrowsAsync<HttpRequestException>(() => admin.GetSampleAsync("m", null, 10, null, null, CancellationToken.None));

        Assert.Equal(HttpStatusCode.Conflict, error.StatusCode);
        Assert.Contains("SampleRows", error.Message, StringComparison.Ordinal);
    }
}
