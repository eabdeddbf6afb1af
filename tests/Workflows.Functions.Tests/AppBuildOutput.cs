namespace Workflows.Functions.Tests;

/// <summary>Where the repository and the function app's build output are, seen from the tests' build output.</summary>
internal static class AppBuildOutput
{
    /// <summary>The repository's root folder (the one with Workflows.sln).</summary>
    public static string RepositoryFolder { get; } = FindRepositoryFolder();

    /// <summary>
    /// The function app's worker assembly in its own build output (the configuration and framework of this test
    /// run), which a Functions host starts as the worker process.
    /// </summary>
    public static string WorkerPath
    {
        get
        {
            var framework = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
            var configuration = framework.Parent!.Name;
            var path = Path.Combine(RepositoryFolder, "functions", "Workflows.Functions", "bin", configuration, framework.Name, "Workflows.Functions.dll");
            return File.Exists(path) ? path : throw new InvalidOperationException($"The function app is not built: '{path}' is missing.");
        }
    }

    private static string FindRepositoryFolder()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            if (File.Exists(Path.Combine(folder.FullName, "Workflows.sln")))
            {
                return folder.FullName;
            }
        }

        throw new InvalidOperationException("Workflows.sln not found above the test's folder.");
    }
}
