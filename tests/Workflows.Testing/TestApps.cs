using Workflows.Host.Azurite;

namespace Workflows.Testing;

/// <summary>
/// The build output of the function apps the host and CLI tests run as worker processes: a test project that uses one
/// references it (without using its assembly) so that it is built first, into the same
/// bin/&lt;configuration&gt;/&lt;framework&gt; layout under its own project folder.
/// </summary>
public static class TestApps
{
    /// <summary>The product's function app (functions/Workflows.Functions): the samples and the ML workflows.</summary>
    public static string Functions => Locate("functions", "Workflows.Functions");

    /// <summary>The test app (tests/Workflows.Host.TestWorkerApp): functions that wait, fail, crash or record.</summary>
    public static string Worker => Locate("tests", "Workflows.Host.TestWorkerApp");

    /// <summary>
    /// The app settings of local.settings.sample.json (what ./run.sh gives the product's app) other than the storage
    /// connection and the environment, which each harness sets itself: harnesses that run the product's app outside the
    /// repository root pass them, so the app starts as it does under ./run.sh (its retraining timer disabled).
    /// </summary>
    public static IReadOnlyDictionary<string, string> SampleSettings => Sample.Value;

    /// <summary>The repository root.</summary>
    public static string RepositoryRoot { get; } = AzuriteProcess.FindRepositoryRoot(AppContext.BaseDirectory);

    private static readonly Lazy<Dictionary<string, string>> Sample = new(ReadSampleSettings);

    private static Dictionary<string, string> ReadSampleSettings()
    {
        using var sample = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(RepositoryRoot, "local.settings.sample.json")));
        return sample.RootElement.GetProperty("Values").EnumerateObject()
            .Where(static p => p.Name is not ("AzureWebJobsStorage" or "AZURE_FUNCTIONS_ENVIRONMENT"))
            .ToDictionary(static p => p.Name, static p => p.Value.GetString() ?? string.Empty, StringComparer.Ordinal);
    }

    private static string Locate(string folder, string project)
    {
        var testProject = FindProjectFolder();
        var layout = Path.GetRelativePath(testProject, AppContext.BaseDirectory);
        var directory = Path.GetFullPath(Path.Combine(RepositoryRoot, folder, project, layout));
        return File.Exists(Path.Combine(directory, "worker.config.json"))
            ? directory
            : throw new DirectoryNotFoundException($"The function app {project} is not built at {directory}; build the test project first.");
    }

    /// <summary>The folder of the running test project: the nearest folder above the test assembly that holds a project file.</summary>
    private static string FindProjectFolder()
    {
        var folder = AppContext.BaseDirectory;
        while (Directory.GetFiles(folder, "*.csproj").Length == 0)
        {
            folder = Path.GetDirectoryName(Path.TrimEndingDirectorySeparator(folder)) ?? throw new DirectoryNotFoundException("No project file above " + AppContext.BaseDirectory);
        }

        return folder;
    }
}
