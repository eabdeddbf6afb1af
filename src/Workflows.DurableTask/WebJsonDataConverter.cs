using System.Text.Json;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Converters;

namespace Workflows.DurableTask;

/// <summary>
/// The data converter of the function app, its clients and its tests: System.Text.Json with the web defaults
/// (camelCase names, case-insensitive reads, numbers from strings), as the Functions isolated worker serializes.
/// </summary>
public static class WebJsonDataConverter
{
    /// <summary>The shared instance.</summary>
    public static DataConverter Instance { get; } = new JsonDataConverter(new JsonSerializerOptions(JsonSerializerDefaults.Web));
}
