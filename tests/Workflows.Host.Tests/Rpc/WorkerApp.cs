using Microsoft.Azure.WebJobs.Script.Grpc.Messages;
using Microsoft.Extensions.Logging;
using Workflows.Host.Rpc;
using Workflows.Testing;

namespace Workflows.Host.Tests.Rpc;

/// <summary>The test worker app's build output, and helpers to start channels on it.</summary>
internal static class WorkerApp
{
    private const string ProjectName = "Workflows.Host.TestWorkerApp";

    /// <summary>The app folder.</summary>
    public static string Directory => TestApps.Worker;

    /// <summary>The file name of the app's assembly.</summary>
    public const string AssemblyFileName = ProjectName + ".dll";

    /// <summary>Options for a channel on the test app; <paramref name="delays"/> records restart delays, which then do not wait.</summary>
    public static WorkerChannelOptions Options(IReadOnlyDictionary<string, string>? appSettings = null, List<TimeSpan>? delays = null) => new()
    {
        AppDirectory = Directory,
        AppSettings = appSettings ?? new Dictionary<string, string>(),
        HandshakeTimeout = TimeSpan.FromSeconds(60),
        StopGracePeriod = TimeSpan.FromSeconds(5),
        Delay = delays is null
            ? Task.Delay
            : (delay, _) =>
            {
                lock (delays)
                {
                    delays.Add(delay);
                }

                return Task.CompletedTask;
            },
    };

    /// <summary>Starts a channel on the test app, within a safety timeout.</summary>
    public static async Task<WorkerChannel> StartAsync(WorkerChannelOptions options, ILoggerFactory loggerFactory)
    {
        var channel = new WorkerChannel(options, loggerFactory);
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
            await channel.StartAsync(timeout.Token);
            return channel;
        }
        catch
        {
            await channel.DisposeAsync();
            throw;
        }
    }

    /// <summary>An activity's input as the host sends it: the trigger parameter's name, the input as JSON text in a string.</summary>
    public static ParameterBinding ActivityInput(string parameterName, string json) =>
        new() { Name = parameterName, Data = new TypedData { String = json } };
}
