using Workflows.ML.Registry;
using Workflows.Testing;
using Xunit;

namespace Workflows.ML.Tests.Registry;

public sealed class LocalFolderModelRegistryTests : ModelRegistryContract, IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "wf-registry-" + Guid.NewGuid().ToString("N"));

    public LocalFolderModelRegistryTests() => Registry = new LocalFolderModelRegistry(_root, Clock);

    protected override IModelRegistry Registry { get; }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public async Task RegisterAsync_Layout_ManifestAndArtifactInAVersionFolder()
    {
        await Registry.RegisterAsync(Registration("churn"), new byte[] { 1, 2 });

        Assert.True(File.Exists(Path.Combine(_root, "churn", "000001", "manifest.json")));
        Assert.Equal([1, 2], await File.ReadAllBytesAsync(Path.Combine(_root, "churn", "000001", "model.onnx")));
        Assert.Equal(["000001"], Directory.GetDirectories(Path.Combine(_root, "churn")).Select(Path.GetFileName));
    }

    [Fact]
    public async Task ReadArtifactAsync_ArtifactChangedOnDisk_ThrowsInvalidData()
    {
        await Registry.RegisterAsync(Registration("churn"), new byte[] { 1, 2 });
        await File.WriteAllBytesAsync(Path.Combine(_root, "churn", "000001", "model.onnx"), [1, 3]);

        var error = await Assert.ThrowsAsync<InvalidDataException>(() => Registry.ReadArtifactAsync("churn", 1));

        Assert.Contains("does not match its manifest's SHA-256", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadFileAsync_FileChangedOnDisk_ThrowsInvalidData()
    {
        await Registry.RegisterAsync(Registration("churn") with { Files = new Dictionary<string, byte[]> { ["reference-profile.json"] = [5] } }, new byte[] { 1 });
        Assert.Equal([5], await File.ReadAllBytesAsync(Path.Combine(_root, "churn", "000001", "reference-profile.json")));
        await File.WriteAllBytesAsync(Path.Combine(_root, "churn", "000001", "reference-profile.json"), [6]);

        await Assert.ThrowsAsync<InvalidDataException>(() => Registry.ReadFileAsync("churn", 1, "reference-profile.json"));
    }

    [Fact]
    public async Task GetLatestAsync_UnpublishedFolderWithoutManifest_IsIgnored()
    {
        await Registry.RegisterAsync(Registration("churn"), new byte[] { 1 });
        Directory.CreateDirectory(Path.Combine(_root, "churn", "000002"));

        Assert.Equal(1, (await Registry.GetLatestAsync("churn"))!.Version);
    }
}
