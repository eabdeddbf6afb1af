using System.Diagnostics;
using Grpc.Net.Client;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;
using Workflows.Host.TaskHub;

namespace Workflows.Host.Tests.Sidecar;

/// <summary>
/// The standalone worker (tests/Workflows.Host.TestGrpcWorker: the official SDK's gRPC worker with the orchestrator
/// <c>GrpcGreeting</c> and the activity <c>GrpcHello</c>) as a process of its own, connected to a host's sidecar.
/// </summary>
internal sealed class GrpcWorkerProcess : IDisposable
{
    private const string ProjectName = "Workflows.Host.TestGrpcWorker";
    private static readonly string Executable = Locate();
    private readonly Process _process;

    private GrpcWorkerProcess(Process process) => _process = process;

    public int Id => _process.Id;

    /// <summary>
    /// Starts a worker on <paramref name="host"/>'s sidecar and waits until the host counts one more connected gRPC
    /// worker (so a worker that went away before must no longer be counted); its activity marks
    /// <paramref name="markers"/> when it starts, and never ends when <paramref name="hang"/>.
    /// </summary>
    public static async Task<GrpcWorkerProcess> StartAsync(TestHost host, string markers, bool hang = false)
    {
        var runtime = Runtime(host);
        var before = runtime.ConnectedGrpcWorkers;
        var info = new ProcessStartInfo(Executable) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(runtime.SidecarAddress.ToString());
        info.ArgumentList.Add(markers);
        if (hang)
        {
            info.ArgumentList.Add("--hang");
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException("The gRPC worker did not start.");
        process.OutputDataReceived += static (_, _) => { };
        process.ErrorDataReceived += static (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var worker = new GrpcWorkerProcess(process);
        try
        {
            await TestHost.PollAsync<bool>(async cancellationToken =>
            {
                await Task.Yield();
                return process.HasExited
                    ? throw new InvalidOperationException($"The gRPC worker exited with code {process.ExitCode}.")
                    : runtime.ConnectedGrpcWorkers > before ? true : null;
            });
        }
        catch
        {
            worker.Dispose();
            throw;
        }

        return worker;
    }

    /// <summary>The host's task hub runtime (its sidecar address and connected workers).</summary>
    public static TaskHubRuntime Runtime(TestHost host) => host.App.Services.GetRequiredService<TaskHubRuntime>();

    /// <summary>An official gRPC <see cref="DurableTaskClient"/> on the host's sidecar; dispose the provider after use.</summary>
    public static (DurableTaskClient Client, ServiceProvider Services) Client(TestHost host)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        var channel = GrpcChannel.ForAddress(Runtime(host).SidecarAddress);
        services.AddSingleton(channel);
        services.AddDurableTaskClient(builder => builder.UseGrpc(channel));
        var provider = services.BuildServiceProvider();
        return (provider.GetRequiredService<DurableTaskClient>(), provider);
    }

    /// <summary>Kills the process at once (SIGKILL), as a crash would end it.</summary>
    public void Kill()
    {
        _process.Kill(entireProcessTree: true);
        _process.WaitForExit();
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            Kill();
        }

        _process.Dispose();
    }

    private static string Locate()
    {
        var root = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(root, "Workflows.sln")))
        {
            root = Path.GetDirectoryName(Path.TrimEndingDirectorySeparator(root)) ?? throw new DirectoryNotFoundException("No Workflows.sln above " + AppContext.BaseDirectory);
        }

        var layout = Path.GetRelativePath(Path.Combine(root, "tests", "Workflows.Host.Tests"), AppContext.BaseDirectory);
        var executable = Path.GetFullPath(Path.Combine(root, "tests", ProjectName, layout, OperatingSystem.IsWindows() ? ProjectName + ".exe" : ProjectName));
        return File.Exists(executable)
            ? executable
            : throw new FileNotFoundException($"The test gRPC worker is not built at {executable}; build the test project first.", executable);
    }
}
