using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Workflows.Functions.Canary;
using Workflows.Functions.Monitoring;
using Workflows.Functions.Tests.Canary;
using Workflows.ML.Monitoring;
using Workflows.ML.Onnx;
using Workflows.ML.Registry;
using Workflows.ML.Training;
using Workflows.Serving.Hosting;
using Xunit;
using static Workflows.Functions.Tests.Monitoring.DriftTestModel;

namespace Workflows.Functions.Tests.Monitoring;

/// <summary>DriftCheck against a fake service's samples, and once against the real service in this process.</summary>
public sealed class DriftCheckTests : IDisposable
{
    private static readonly DateTimeOffset Trained = new(2026, 12, 1, 8, 0, 0, TimeSpan.Zero);
    private readonly string _root = Directory.CreateTempSubdirectory("wf-drift-").FullName;
    private readonly LocalFolderModelRegistry _registry;
    private readonly FakeTimeProvider _clock = new(Trained.AddDays(3));

    public DriftCheckTests() => _registry = new LocalFolderModelRegistry(Path.Combine(_root, "models"));

    public void Dispose() => Directory.Delete(_root, recursive: true);

    /// <summary>Registers the model with the reference profile of 5,000 rows from the training distribution.</summary>
    private async Task RegisterAsync(bool withProfile = true)
    {
        var rows = Rows(5_000, seed: 1);
        var predictions = Predict(rows);
        var partial = new ReferencePartial(["f0", "f1", "f2"]);
        var columns = ReferencePrediction.Columns(rows, 5_000, Features);
        partial.AddChunk(columns, predictions);
        var profile = ReferenceProfile.Build(partial, Trained);
        var counts = BinCounts.For(profile);
        counts.Add(profile, columns, predictions);
        var files = withProfile ? new Dictionary<string, byte[]> { [ReferenceProfile.FileName] = profile.WithCountedProportions(counts).ToJson() } : null;
        await _registry.RegisterAsync(
            new ModelRegistration("m", "onnx", new Dictionary<string, double>(), new ModelLineage("d", "s", new Dictionary<string, string>(), null), null, files),
            OnnxModelExporter.Export(Model()));
    }

    private static ServingSample Sample(int rows, int seed, double shift = 0)
    {
        var inputs = Rows(rows, seed, shift);
        return new ServingSample(1, Features, rows, inputs, Predict(inputs));
    }

    private DriftCheckActivity Activity(IServingAdmin serving) => new(_registry, serving, _clock);

    [Fact]
    public async Task SameDistribution_IsOk_AndAShiftedFeatureIsDriftNamingIt()
    {
        await RegisterAsync();
        var serving = new FakeServing("m", 1);
        serving.Samples[1] = Sample(3_000, seed: 2);
        var same = await Activity(serving).CheckAsync(new DriftCheckInput("m"), CancellationToken.None);
        serving.Samples[1] = Sample(3_000, seed: 3, shift: 1.0);
        var shifted = await Activity(serving).CheckAsync(new DriftCheckInput("m", Version: 1), CancellationToken.None);

        Assert.Equal((DriftCheckStatus.Ok, 1, 3_000L, 5_000L), (same.Status, same.Version, same.SampleRows, same.ReferenceRows));
        Assert.All(same.Features.Append(same.Prediction), c => Assert.InRange(c.Psi!.Value, 0, 0.02));
        Assert.False(same.RetrainRecommended);
        Assert.Equal(DriftCheckStatus.Drift, shifted.Status);
        Assert.Equal("f0", shifted.WorstFeature!.Name);
        Assert.True(shifted.Features[0].Psi > 0.25, shifted.Features[0].ToString());
        Assert.InRange(shifted.Features[1].Psi!.Value, 0, 0.02);
        Assert.True(shifted.Prediction.Psi > 0.1, shifted.Prediction.ToString()); // the prediction follows feature 0
        Assert.True(shifted.RetrainRecommended);
        Assert.Equal(TimeSpan.FromDays(3), shifted.ModelAge);
    }

    [Fact]
    public async Task ThresholdsAreTheInputs_AModerateShiftWarnsOrPasses()
    {
        await RegisterAsync();
        var serving = new FakeServing("m", 1);
        serving.Samples[1] = Sample(3_000, seed: 4, shift: 0.3);

        var defaults = await Activity(serving).CheckAsync(new DriftCheckInput("m"), CancellationToken.None);
        var lenient = await Activity(serving).CheckAsync(new DriftCheckInput("m", WarnThreshold: 0.5, AlertThreshold: 0.9), CancellationToken.None);

        Assert.Equal(DriftCheckStatus.Warn, defaults.Status);
        Assert.InRange(defaults.Features[0].Psi!.Value, 0.1, 0.25);
        Assert.Equal(DriftCheckStatus.Ok, lenient.Status);
    }

    [Fact]
    public async Task TooFewRows_IsInsufficientData_NeverOk_AndAnOldModelIsStale()
    {
        await RegisterAsync();
        var serving = new FakeServing("m", 1);
        serving.Samples[1] = Sample(3_000, seed: 5);
        _clock.SetUtcNow(Trained.AddDays(40));

        var few = await Activity(serving).CheckAsync(new DriftCheckInput("m", MaxRows: 200), CancellationToken.None);
        var stale = await Activity(serving).CheckAsync(new DriftCheckInput("m", StalenessLimit: TimeSpan.FromDays(30)), CancellationToken.None);
        serving.Samples[1] = new ServingSample(1, Features, 0, [], []);
        var none = await Activity(serving).CheckAsync(new DriftCheckInput("m", MinSamples: 1), CancellationToken.None);

        Assert.Equal(DriftCheckStatus.InsufficientData, few.Status);
        Assert.All(few.Features, c => Assert.Null(c.Psi));
        Assert.False(few.Stale);
        Assert.Equal((DriftCheckStatus.Ok, true, true), (stale.Status, stale.Stale, stale.RetrainRecommended));
        Assert.Equal(TimeSpan.FromDays(40), stale.ModelAge);
        Assert.Equal((DriftCheckStatus.InsufficientData, 0L), (none.Status, none.SampleRows));
    }

    [Fact]
    public async Task BadInput_NoProfile_OrAnUnservedModel_FailSayingWhy()
    {
        await RegisterAsync(withProfile: false);
        var serving = new FakeServing("m", 1);

        var invalid = await Assert.ThrowsAsync<ArgumentException>(() => Activity(serving).CheckAsync(
            new DriftCheckInput("m", WarnThreshold: 0.3, AlertThreshold: 0.2, MinSamples: 0, StalenessLimit: TimeSpan.Zero), CancellationToken.None));
        var noProfile = await Assert.ThrowsAsync<InvalidOperationException>(() => Activity(serving).CheckAsync(new DriftCheckInput("m"), CancellationToken.None));
        var unserved = await Assert.ThrowsAsync<InvalidOperationException>(() => Activity(new FakeServing("other", 1)).CheckAsync(new DriftCheckInput("m"), CancellationToken.None));

        Assert.Contains("alertThreshold", invalid.Message, StringComparison.Ordinal);
        Assert.Contains("minSamples", invalid.Message, StringComparison.Ordinal);
        Assert.Contains("stalenessLimit", invalid.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("warnThreshold:", invalid.Message, StringComparison.Ordinal);
        Assert.Contains("no reference profile", noProfile.Message, StringComparison.Ordinal);
        Assert.Contains("does not serve 'm'", unserved.Message, StringComparison.Ordinal);
        Assert.Equal(0, serving.SampleReads);
    }

    [Fact]
    public async Task AgainstTheRealService_RecentRowsFromTheTrainingDistributionAreOk_AndShiftedOnesDrift()
    {
        const string AdminKey = "drift-check-admin-key-0123";
        await RegisterAsync();
        var builder = ServingApplication.CreateBuilder(
        [
            "--urls=http://127.0.0.1:0",
            "--WorkflowsDataRoot=" + _root,
            "--Serving:RegistryPollSeconds=0",
            "--Serving:AdminKey=" + AdminKey,
            "--Serving:SampleRows=2000",
        ]);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        await using var app = ServingApplication.Build(builder);
        await app.StartAsync();
        var address = new Uri(app.Urls.First().TrimEnd('/') + "/");
        using var client = new HttpClient { BaseAddress = address };
        using var admin = new HttpServingAdmin(address, () => AdminKey);
        using (var refresh = new HttpRequestMessage(HttpMethod.Post, "admin/refresh"))
        {
            refresh.Headers.Add("x-admin-key", AdminKey);
            (await client.SendAsync(refresh)).EnsureSuccessStatusCode();
        }

        async Task SendAsync(float[] rows)
        {
            for (var start = 0; start < rows.Length; start += 100 * Features)
            {
                var body = new System.Text.Json.Nodes.JsonObject
                {
                    ["inputs"] = new System.Text.Json.Nodes.JsonArray(new System.Text.Json.Nodes.JsonObject
                    {
                        ["name"] = "features",
                        ["shape"] = new System.Text.Json.Nodes.JsonArray(100, Features),
                        ["datatype"] = "FP32",
                        ["data"] = new System.Text.Json.Nodes.JsonArray([.. rows[start..(start + (100 * Features))].Select(v => (System.Text.Json.Nodes.JsonNode)v)]),
                    }),
                };
                (await client.PostAsync("v2/models/m/infer", System.Net.Http.Json.JsonContent.Create(body))).EnsureSuccessStatusCode();
            }
        }

        await SendAsync(Rows(1_000, seed: 6));
        var same = await Activity(admin).CheckAsync(new DriftCheckInput("m", MaxRows: 1_000), CancellationToken.None);
        await SendAsync(Rows(1_000, seed: 7, shift: 1.5));
        var shifted = await Activity(admin).CheckAsync(new DriftCheckInput("m", MaxRows: 1_000), CancellationToken.None);
        await app.StopAsync();

        Assert.Equal(DriftCheckStatus.Ok, same.Status);
        Assert.Equal(1_000, same.SampleRows);
        Assert.InRange(same.Prediction.Psi!.Value, 0, 0.05); // the service's ONNX predictions fall in the reference's bins as ours did
        Assert.Equal(DriftCheckStatus.Drift, shifted.Status);
        Assert.Equal("f0", shifted.WorstFeature!.Name);
        Assert.True(shifted.Prediction.Psi > 0.25, shifted.Prediction.ToString());
    }
}
