using System.Text;
using Workflows.ML.Data;
using Xunit;

namespace Workflows.ML.Tests.Data;

/// <summary>Request paths stay inside the data root: by their text, and through symbolic links when used.</summary>
public sealed class DataRootTests : IDisposable
{
    private readonly TempFolder _temp = new();
    private readonly DataRoot _root;
    private readonly string _outside;

    public DataRootTests()
    {
        _root = new DataRoot(_temp.File("root"));
        _outside = Directory.CreateDirectory(_temp.File("outside")).FullName;
    }

    [Theory]
    [InlineData("demo", "demo")]
    [InlineData("datasets/demo", "datasets/demo")]
    [InlineData("./datasets//demo/", "datasets/demo")]
    [InlineData("%2e%2e/demo", "%2e%2e/demo")]
    [InlineData(".", "")]
    public void Resolve_RelativePath_IsInsideTheRoot(string path, string relative)
    {
        var full = _root.Resolve(path, "dataset");

        Assert.Equal(Path.TrimEndingDirectorySeparator(Path.Combine(_root.FullPath, relative)), full);
    }

    [Fact]
    public void Resolve_AbsolutePathInsideTheRoot_IsAccepted()
    {
        var inside = Path.Combine(_root.FullPath, "a", "b.parquet");

        Assert.Equal(inside, _root.Resolve(inside, "dataset"));
    }

    [Theory]
    [InlineData("../outside", "'..' segments")]
    [InlineData("a/../../outside", "'..' segments")]
    [InlineData("a/..", "'..' segments")]
    [InlineData("..\\outside", "'..' segments")]
    [InlineData("/etc/passwd", "must lie inside the data root")]
    [InlineData("", "is required")]
    [InlineData("  ", "is required")]
    [InlineData("a\0b", "NUL")]
    public void Resolve_PathThatLeavesTheRoot_IsRefusedNamingFieldAndRule(string path, string rule)
    {
        var refused = Assert.Throws<DataPathException>(() => _root.Resolve(path, "destination"));

        Assert.StartsWith("destination '", refused.Message, StringComparison.Ordinal);
        Assert.Contains(rule, refused.Message, StringComparison.Ordinal);
        Assert.Equal("destination", refused.Field);
    }

    [Fact]
    public void Resolve_SiblingFolderSharingTheRootsNameAsPrefix_IsRefused()
    {
        // "<root>-evil" starts with the root's text but is not inside it.
        Assert.Throws<DataPathException>(() => _root.Resolve(_root.FullPath + "-evil/x", "dataset"));
    }

    [Fact]
    public void Confine_SymbolicLinkOutOfTheRoot_IsRefused()
    {
        Directory.CreateSymbolicLink(Path.Combine(_root.FullPath, "escape"), _outside);

        Assert.Equal(Path.Combine(_root.FullPath, "escape", "x"), _root.Resolve("escape/x", "dataset"));
        var refused = Assert.Throws<DataPathException>(() => _root.Confine("escape/x", "dataset"));
        Assert.Contains("symbolic link", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Confine_SymbolicLinkThatStaysInside_IsAccepted()
    {
        var target = Directory.CreateDirectory(Path.Combine(_root.FullPath, "real")).FullName;
        Directory.CreateSymbolicLink(Path.Combine(_root.FullPath, "alias"), target);

        Assert.Equal(Path.Combine(_root.FullPath, "alias", "x"), _root.Confine("alias/x", "dataset"));
    }

    [Fact]
    public void Root_ReachedThroughALink_ComparesByItsRealPath()
    {
        var link = _temp.File("root-link");
        Directory.CreateSymbolicLink(link, _root.FullPath);

        var throughLink = new DataRoot(link);

        Assert.Equal(_root.FullPath, throughLink.FullPath);
        Assert.Equal(Path.Combine(_root.FullPath, "x"), throughLink.Confine("x", "dataset"));
    }

    [Fact]
    public async Task LocalStorage_WriteThroughALinkOutOfTheRoot_IsRefusedAndWritesNothingOutside()
    {
        var storage = new LocalDatasetStorage(_root);
        Directory.CreateSymbolicLink(Path.Combine(_root.FullPath, "escape"), _outside);

        await Assert.ThrowsAsync<DataPathException>(() => storage.WriteAsync("escape/part-00000.parquet", Encoding.UTF8.GetBytes("x"), CancellationToken.None));
        await Assert.ThrowsAsync<DataPathException>(() => storage.WriteAsync(Path.Combine(_outside, "p.parquet"), Encoding.UTF8.GetBytes("x"), CancellationToken.None));
        await Assert.ThrowsAsync<DataPathException>(() => storage.OpenReadAsync("../outside/p.parquet", CancellationToken.None));

        Assert.Empty(Directory.EnumerateFileSystemEntries(_outside));
    }

    [Fact]
    public async Task LocalStorage_ListFiles_NamesThemRelativeToTheRoot()
    {
        var storage = new LocalDatasetStorage(_root);
        await storage.WriteAsync("sets/demo/part-00001.csv", Encoding.UTF8.GetBytes("a\n1\n"), CancellationToken.None);
        await storage.WriteAsync(Path.Combine(_root.FullPath, "sets", "demo", "part-00000.csv"), Encoding.UTF8.GetBytes("a\n1\n"), CancellationToken.None);

        var files = await storage.ListFilesAsync("sets/demo", ".csv", CancellationToken.None);

        Assert.Equal(["sets/demo/part-00000.csv", "sets/demo/part-00001.csv"], files);
        Assert.Equal(["sets/demo/part-00000.csv"], await storage.ListFilesAsync("sets/demo/part-00000.csv", ".csv", CancellationToken.None));
    }

    public void Dispose() => _temp.Dispose();
}
