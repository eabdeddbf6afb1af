using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Configuration.Memory;

namespace Workflows.Serving.Configuration;

/// <summary>
/// The function app's <c>local.settings.json</c> in the working directory, read as the host reads it: its
/// <c>Values</c> become settings below every other source (appsettings, environment, command line), with <c>__</c> in
/// a name meaning <c>:</c>. So the service started beside the host (<c>./run.sh</c>) finds the same data root
/// (<c>WorkflowsDataRoot</c>) and model registry (<c>WorkflowsModelRegistryRoot</c>) without settings of its own.
/// </summary>
internal static class LocalSettings
{
    /// <summary>The file's name.</summary>
    public const string FileName = "local.settings.json";

    /// <summary>Adds the Values of <c>local.settings.json</c> in <paramref name="folder"/>, when there is one, as the lowest-ranked source.</summary>
    public static void Add(IConfigurationBuilder configuration, string folder)
    {
        var path = Path.Combine(folder, FileName);
        if (!File.Exists(path))
        {
            return;
        }

        var file = new ConfigurationBuilder().AddJsonFile(path, optional: true, reloadOnChange: false).Build();
        var values = file.GetSection("Values").AsEnumerable(makePathsRelative: true)
            .Where(static pair => pair.Value is not null)
            .Select(static pair => new KeyValuePair<string, string?>(pair.Key.Replace("__", ConfigurationPath.KeyDelimiter, StringComparison.Ordinal), pair.Value))
            .ToList();
        configuration.Sources.Insert(0, new MemoryConfigurationSource { InitialData = values });
    }
}
