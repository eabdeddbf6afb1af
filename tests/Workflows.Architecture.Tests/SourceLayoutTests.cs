using System.Text.RegularExpressions;
using Xunit;

namespace Workflows.Architecture.Tests;

/// <summary>Rules about where code lives: a file's namespace is its project's name followed by its folders.</summary>
public sealed partial class SourceLayoutTests
{
    private static readonly string[] CodeFolders = ["src", "functions", "tools", "tests", "bench"];

    [Fact]
    public void SourceFiles_NamespaceMatchesFolder()
    {
        var root = RepositoryRoot();
        var mismatches = new List<string>();
        foreach (var file in CodeFolders.SelectMany(folder => Directory.EnumerateFiles(Path.Combine(root, folder), "*.cs", SearchOption.AllDirectories)))
        {
            var relative = Path.GetRelativePath(root, file);
            if (relative.Split(Path.DirectorySeparatorChar).Any(part => part is "bin" or "obj"))
            {
                continue;
            }

            if (ExpectedNamespace(file) is { } expected
                && FileScopedNamespace().Match(File.ReadAllText(file)) is { Success: true } declared
                && declared.Groups[1].Value != expected)
            {
                mismatches.Add($"{relative}: {declared.Groups[1].Value} (expected {expected})");
            }
        }

        Assert.True(mismatches.Count == 0, "Namespaces that do not match their folders:\n" + string.Join("\n", mismatches));
    }

    [Fact]
    public void ExpectedNamespace_FileInAProjectFolder_IsProjectNameAndFolders()
    {
        var file = Path.Combine(RepositoryRoot(), "src", "Workflows.ML", "Data", "Caching", "DecodedChunkCache.cs");

        Assert.Equal("Workflows.ML.Data.Caching", ExpectedNamespace(file));
    }

    /// <summary>The project (nearest folder with a .csproj) name, then the folders below it; null outside a project.</summary>
    private static string? ExpectedNamespace(string file)
    {
        var folders = new Stack<string>();
        for (var directory = new DirectoryInfo(Path.GetDirectoryName(file)!); directory is not null; directory = directory.Parent)
        {
            if (directory.EnumerateFiles("*.csproj").FirstOrDefault() is { } project)
            {
                return string.Join('.', folders.Prepend(Path.GetFileNameWithoutExtension(project.Name)));
            }

            folders.Push(directory.Name);
        }

        return null;
    }

    internal static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Workflows.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("No Workflows.sln above " + AppContext.BaseDirectory);
    }

    [GeneratedRegex(@"^namespace ([\w.]+);", RegexOptions.Multiline)]
    private static partial Regex FileScopedNamespace();
}
