using Workflows.Host.Rpc;

namespace Workflows.Host.Tests;

/// <summary>
/// The build output of the function apps the host tests run as worker processes: this test project references each
/// app (without using its assembly) so that it is built first, into the same bin/&lt;configuration&gt;/&lt;framework&gt;
/// layout under its own project folder.
/// </summary>
internal static class TestApps
{
    /// <summary>The product's function app (functions/Workflows.Functions): the samples and the ML workflows.</summary>
    public static string Functions => Locate("functions", "Workflows.Functions");

    /// <summary>The test app (tests/Workflows.Host.TestWorkerApp): functions that wait, fail, crash or record.</summary>
    public static string Worker => Locate("tests", "Workflows.Host.TestWorkerApp");

    /// <summary>The repository root.</summary>
    public static string RepositoryRoot { get; } = FindRepositoryRoot();

    private static string Locate(string folder, string project)
    {
        var testProject = Path.Combine(RepositoryRoot, "tests", "Workflows.Host.Tests");
        var layout = Path.GetRelativePath(testProject, AppContext.BaseDirectory);
        var directory = Path.GetFullPath(Path.Combine(RepositoryRoot, folder, project, layout));
        return File.Exists(Path.Combine(directory, WorkerLaunch.ConfigFileName))
            ? directory
            : throw new DirectoryNotFoundException($"The function app {project} is not built at {directory}; build the test project first.");
    }

    private static string FindRepositoryRoot()
    {
        var root = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(root, "Workflows.sln")))
        {
            root = Path.GetDirectoryName(Path.TrimEndingDirectorySeparator(root)) ?? throw new DirectoryNotFoundException("No Workflows.sln above " + AppContext.BaseDirectory);
        }

        return root;
    }
}
