using System.Runtime.InteropServices;
using System.Text.Json;

namespace Workflows.Host.Rpc;

/// <summary>
/// How to start an app's worker process, read from the <c>worker.config.json</c> in its folder as the Functions host
/// reads it: <c>description.defaultExecutablePath</c> (<c>dotnet</c>, or the app's own executable as
/// <c>{WorkerRoot}App</c>), its <c>arguments</c>, then <c>defaultWorkerPath</c> (the app's dll) and its
/// <c>workerArguments</c>; <c>{os}</c>, <c>{architecture}</c> and <c>{WorkerRoot}</c> are replaced.
/// </summary>
/// <param name="Executable">The program to start: a full path, or a name looked up on PATH.</param>
/// <param name="Arguments">Its arguments before the host's own.</param>
internal sealed record WorkerLaunch(string Executable, IReadOnlyList<string> Arguments)
{
    /// <summary>The file name the Functions host looks for in an app folder.</summary>
    public const string ConfigFileName = "worker.config.json";

    /// <summary>Reads <paramref name="appDirectory"/>'s <c>worker.config.json</c>; a missing or unusable one is a <see cref="WorkerStartException"/>.</summary>
    public static WorkerLaunch Read(string appDirectory)
    {
        if (!Directory.Exists(appDirectory))
        {
            throw new WorkerStartException(appDirectory, "the app folder does not exist.");
        }

        var configPath = Path.Combine(appDirectory, ConfigFileName);
        if (!File.Exists(configPath))
        {
            throw new WorkerStartException(appDirectory, $"there is no {ConfigFileName} in it (is it the build output of an isolated-worker app?).");
        }

        JsonElement description;
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllText(configPath), new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
            if (document.RootElement.ValueKind != JsonValueKind.Object
                || !document.RootElement.TryGetProperty("description", out var found)
                || found.ValueKind != JsonValueKind.Object)
            {
                throw new WorkerStartException(appDirectory, $"its {ConfigFileName} has no \"description\" object.");
            }

            description = found.Clone();
        }
        catch (JsonException exception)
        {
            throw new WorkerStartException(appDirectory, $"its {ConfigFileName} is not valid JSON: {exception.Message}", exception);
        }

        var executable = ReadString(description, "defaultExecutablePath");
        var workerPath = ReadString(description, "defaultWorkerPath");
        if (string.IsNullOrWhiteSpace(executable) && string.IsNullOrWhiteSpace(workerPath))
        {
            throw new WorkerStartException(appDirectory, $"its {ConfigFileName} names neither \"defaultExecutablePath\" nor \"defaultWorkerPath\".");
        }

        var arguments = new List<string>(ReadStrings(appDirectory, description, "arguments").Select(argument => Expand(argument, appDirectory)));
        if (!string.IsNullOrWhiteSpace(workerPath))
        {
            var worker = Path.GetFullPath(Expand(workerPath, appDirectory), appDirectory);
            if (!File.Exists(worker))
            {
                throw new WorkerStartException(appDirectory, $"its {ConfigFileName} names the worker '{workerPath}', which is not in the app folder.");
            }

            if (string.IsNullOrWhiteSpace(executable))
            {
                // No separate executable: the worker path is the program itself (an apphost).
                executable = worker;
            }
            else
            {
                arguments.Add(worker);
            }
        }

        arguments.AddRange(ReadStrings(appDirectory, description, "workerArguments").Select(argument => Expand(argument, appDirectory)));
        return new WorkerLaunch(ResolveExecutable(Expand(executable!, appDirectory), appDirectory), arguments);
    }

    /// <summary>The process start information: the program, its arguments, then the host's.</summary>
    public override string ToString() => string.Join(' ', Arguments.Prepend(Executable));

    private static string ResolveExecutable(string executable, string appDirectory)
    {
        if (executable is "dotnet" or "dotnet.exe")
        {
            // The muxer that runs this host runs the app too, when this host runs under one; else PATH decides.
            var current = Environment.ProcessPath;
            return current is not null && Path.GetFileNameWithoutExtension(current) == "dotnet" ? current : executable;
        }

        if (Path.IsPathRooted(executable))
        {
            return OperatingSystem.IsWindows() && !Path.HasExtension(executable) && File.Exists(executable + ".exe") ? executable + ".exe" : executable;
        }

        // A relative path is the app's own (an apphost next to its dll); a bare name is looked up on PATH.
        var inApp = Path.GetFullPath(executable, appDirectory);
        if (File.Exists(inApp))
        {
            return inApp;
        }

        return OperatingSystem.IsWindows() && File.Exists(inApp + ".exe") ? inApp + ".exe" : executable;
    }

    private static string Expand(string value, string appDirectory) => value
        .Replace("{WorkerRoot}", Path.TrimEndingDirectorySeparator(appDirectory) + Path.DirectorySeparatorChar, StringComparison.OrdinalIgnoreCase)
        .Replace("{os}", OperatingSystemName(), StringComparison.OrdinalIgnoreCase)
        .Replace("{architecture}", RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant(), StringComparison.OrdinalIgnoreCase);

    private static string OperatingSystemName() =>
        OperatingSystem.IsWindows() ? "windows" : OperatingSystem.IsMacOS() ? "osx" : "linux";

    private static string? ReadString(JsonElement description, string name) =>
        description.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static IEnumerable<string> ReadStrings(string appDirectory, JsonElement description, string name)
    {
        if (!description.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return [];
        }

        if (value.ValueKind != JsonValueKind.Array || value.EnumerateArray().Any(item => item.ValueKind != JsonValueKind.String))
        {
            throw new WorkerStartException(appDirectory, $"\"{name}\" in its {ConfigFileName} is not an array of strings.");
        }

        return [.. value.EnumerateArray().Select(item => item.GetString()!)];
    }
}
