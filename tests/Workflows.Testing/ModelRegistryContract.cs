using Microsoft.Extensions.Time.Testing;
using Workflows.ML.Registry;
using Xunit;

namespace Workflows.Testing;

/// <summary>Behaviour every <see cref="IModelRegistry"/> must have; each implementation's test class inherits it.</summary>
public abstract class ModelRegistryContract
{
    protected static readonly DateTimeOffset Start = new(2026, 11, 25, 9, 0, 0, TimeSpan.Zero);

    protected FakeTimeProvider Clock { get; } = new(Start);

    protected abstract IModelRegistry Registry { get; }

    [Fact]
    public async Task RegisterAsync_TwoRegistrations_GetVersionsOneAndTwo()
    {
        var first = await Registry.RegisterAsync(Registration("churn"), new byte[] { 1, 2, 3 });
        Clock.Advance(TimeSpan.FromMinutes(5));
        var second = await Registry.RegisterAsync(Registration("churn", accuracy: 0.9), new byte[] { 4, 5 });

        Assert.Equal(1, first.Version);
        Assert.Equal(2, second.Version);
        Assert.Equal(Start, first.RegisteredAt);
        Assert.Equal(Start.AddMinutes(5), second.RegisteredAt);
        Assert.Equal(2, second.ArtifactLength);
    }

    [Fact]
    public async Task GetLatestAsync_AfterTwoVersions_ReturnsTheSecondWithItsMetricsAndLineage()
    {
        await Registry.RegisterAsync(Registration("churn", accuracy: 0.8), new byte[] { 1 });
        await Registry.RegisterAsync(Registration("churn", accuracy: 0.85), new byte[] { 2 });

        var latest = await Registry.GetLatestAsync("churn");

        Assert.NotNull(latest);
        Assert.Equal(2, latest.Version);
        Assert.Equal("onnx", latest.Format);
        Assert.Equal(0.85, latest.Metrics["accuracy"]);
        Assert.True(double.IsNaN(latest.Metrics["rocAuc"]));
        Assert.Equal("data/train.parquet", latest.Lineage.Dataset);
        Assert.Equal("stats/train.json", latest.Lineage.StatsArtifact);
        Assert.Equal("0.0001", latest.Lineage.Parameters["l2"]);
        Assert.Equal("abc1234", latest.Lineage.Commit);
    }

    [Fact]
    public async Task GetAsync_SpecificAndMissingVersions_ReturnVersionOrNull()
    {
        await Registry.RegisterAsync(Registration("churn", accuracy: 0.8), new byte[] { 1 });
        await Registry.RegisterAsync(Registration("churn", accuracy: 0.85), new byte[] { 2 });

        Assert.Equal(0.8, (await Registry.GetAsync("churn", 1))!.Metrics["accuracy"]);
        Assert.Null(await Registry.GetAsync("churn", 3));
        Assert.Null(await Registry.GetAsync("other", 1));
        Assert.Null(await Registry.GetLatestAsync("other"));
    }

    [Fact]
    public async Task ListAsync_SeveralNames_ListsNamesSortedAndVersionsOldestFirst()
    {
        await Registry.RegisterAsync(Registration("zeta"), new byte[] { 1 });
        await Registry.RegisterAsync(Registration("alpha"), new byte[] { 1 });
        await Registry.RegisterAsync(Registration("zeta"), new byte[] { 2 });

        Assert.Equal(["alpha", "zeta"], await Registry.ListNamesAsync());
        Assert.Equal([1, 2], (await Registry.ListVersionsAsync("zeta")).Select(m => m.Version));
        Assert.Empty(await Registry.ListVersionsAsync("missing"));
    }

    [Fact]
    public async Task ReadArtifactAsync_RegisteredBytes_ReturnsThem()
    {
        var artifact = new byte[3000];
        new Random(4).NextBytes(artifact);
        await Registry.RegisterAsync(Registration("churn"), new byte[] { 9 });
        await Registry.RegisterAsync(Registration("churn"), artifact);

        Assert.Equal(artifact, await Registry.ReadArtifactAsync("churn", 2));
        Assert.Equal([9], await Registry.ReadArtifactAsync("churn", 1));
        await Assert.ThrowsAsync<KeyNotFoundException>(() => Registry.ReadArtifactAsync("churn", 3));
    }

    [Fact]
    public async Task RegisterAsync_SameIdempotencyKeyTwice_RegistersOnce()
    {
        var first = await Registry.RegisterAsync(Registration("churn") with { IdempotencyKey = "run-1/0/7" }, new byte[] { 1 });
        var again = await Registry.RegisterAsync(Registration("churn") with { IdempotencyKey = "run-1/0/7" }, new byte[] { 1 });
        var other = await Registry.RegisterAsync(Registration("churn") with { IdempotencyKey = "run-2/0/7" }, new byte[] { 1 });

        Assert.Equal(1, again.Version);
        Assert.Equal(first.RegisteredAt, again.RegisteredAt);
        Assert.Equal(2, other.Version);
    }

    [Fact]
    public async Task RegisterAsync_ConcurrentRegistrations_EachGetsItsOwnVersion()
    {
        var registrations = Enumerable.Range(0, 8)
            .Select(i => Task.Run(() => Registry.RegisterAsync(Registration("busy", accuracy: i / 10.0), new[] { (byte)i })))
            .ToArray();

        var versions = (await Task.WhenAll(registrations)).Select(m => m.Version).Order();

        Assert.Equal(Enumerable.Range(1, 8), versions);
        Assert.Equal(8, (await Registry.ListVersionsAsync("busy")).Count);
    }

    [Theory]
    [InlineData("")]
    [InlineData("../escape")]
    [InlineData("has space")]
    public async Task RegisterAsync_BadName_ThrowsArgumentException(string name)
    {
        await Assert.ThrowsAsync<ArgumentException>(() => Registry.RegisterAsync(Registration(name), new byte[] { 1 }));
    }

    [Fact]
    public async Task ReadFileAsync_FilesRegisteredWithTheVersion_ReadBackCheckedAndNullWhenAbsent()
    {
        var profile = new byte[] { 7, 8, 9 };
        var registered = await Registry.RegisterAsync(
            Registration("churn") with { Files = new Dictionary<string, byte[]> { ["reference-profile.json"] = profile } }, new byte[] { 1 });
        await Registry.RegisterAsync(Registration("churn"), new byte[] { 2 });

        Assert.Equal(profile, await Registry.ReadFileAsync("churn", 1, "reference-profile.json"));
        Assert.Equal(
            Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(profile)),
            (await Registry.GetAsync("churn", 1))!.Files!["reference-profile.json"]);
        Assert.Equal(registered.Files, (await Registry.GetAsync("churn", 1))!.Files);
        Assert.Null(await Registry.ReadFileAsync("churn", 2, "reference-profile.json"));
        Assert.Null(await Registry.ReadFileAsync("churn", 1, "other.json"));
        await Assert.ThrowsAsync<KeyNotFoundException>(() => Registry.ReadFileAsync("churn", 3, "reference-profile.json"));
        await Assert.ThrowsAsync<ArgumentException>(() => Registry.ReadFileAsync("churn", 1, "manifest.json"));
    }

    [Theory]
    [InlineData("manifest.json")]
    [InlineData("model.onnx")]
    [InlineData("../escape.json")]
    [InlineData("Upper.json")]
    public async Task RegisterAsync_FileNameNotAllowed_IsRefused(string fileName)
    {
        await Assert.ThrowsAsync<ArgumentException>(() => Registry.RegisterAsync(
            Registration("churn") with { Files = new Dictionary<string, byte[]> { [fileName] = [1] } }, new byte[] { 1 }));
        Assert.Null(await Registry.GetLatestAsync("churn"));
    }

    protected static ModelRegistration Registration(string name, double accuracy = 0.8) => new(
        name,
        "onnx",
        new Dictionary<string, double> { ["accuracy"] = accuracy, ["logLoss"] = 0.4, ["rocAuc"] = double.NaN },
        new ModelLineage("data/train.parquet", "stats/train.json", new Dictionary<string, string> { ["l2"] = "0.0001", ["epochs"] = "3" }, "abc1234"));
}
