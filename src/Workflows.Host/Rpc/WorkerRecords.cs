using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace Workflows.Host.Rpc;

/// <summary>
/// The worker processes of the hosts that run from one folder, written down under <c>.workflows/workers/</c> there
/// (one file per worker channel: the host's and its current worker's process id and start time), so that a host
/// starting there stops the workers that hosts killed outright left behind: an isolated worker does not exit when its
/// host dies. A live host's worker is never touched, and a process id the system gave to another process since is told
/// apart by its start time.
/// </summary>
internal sealed class WorkerRecords(string workingDirectory, ILogger logger)
{
    private static readonly TimeSpan StartTimeTolerance = TimeSpan.FromSeconds(1);
    private readonly string _folder = Path.Combine(workingDirectory, ".workflows", "workers");

    private readonly string _ownFile = Path.Combine(
        workingDirectory, ".workflows", "workers", $"{Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture)}-{Guid.NewGuid():N}.json");

    /// <summary>Writes down <paramref name="worker"/> as this host's current worker.</summary>
    public void Record(WorkerProcess worker)
    {
        ArgumentNullException.ThrowIfNull(worker);
        try
        {
            using var self = Process.GetCurrentProcess();
            var record = new Entry(self.Id, self.StartTime.ToUniversalTime(), worker.Id, worker.StartTime);
            Directory.CreateDirectory(_folder);
            var temporary = _ownFile + ".tmp";
            File.WriteAllText(temporary, JsonSerializer.Serialize(record));
            File.Move(temporary, _ownFile, overwrite: true);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            WorkerChannelLog.WorkerRecordFailed(logger, _folder, exception.Message);
        }
    }

    /// <summary>Drops this host's record (its worker has been stopped).</summary>
    public void Forget()
    {
        try
        {
            File.Delete(_ownFile);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            WorkerChannelLog.WorkerRecordFailed(logger, _folder, exception.Message);
        }
    }

    /// <summary>Stops the recorded workers whose hosts are gone and drops their records; returns their process ids.</summary>
    public IReadOnlyList<int> StopOrphans()
    {
        var stopped = new List<int>();
        if (!Directory.Exists(_folder))
        {
            return stopped;
        }

        foreach (var file in Directory.EnumerateFiles(_folder, "*.json"))
        {
            Entry? record;
            try
            {
                record = JsonSerializer.Deserialize<Entry>(File.ReadAllText(file));
            }
            catch (Exception exception) when (exception is IOException or JsonException or UnauthorizedAccessException)
            {
                continue;
            }

            if (record is null || IsRunning(record.HostId, record.HostStarted))
            {
                continue;
            }

            if (IsRunning(record.WorkerId, record.WorkerStarted))
            {
                using var orphan = Process.GetProcessById(record.WorkerId);
                orphan.Kill(entireProcessTree: true);
                stopped.Add(record.WorkerId);
                WorkerChannelLog.OrphanStopped(logger, record.WorkerId, record.HostId);
            }

            File.Delete(file);
        }

        return stopped;
    }

    /// <summary>Whether process <paramref name="id"/> runs and is the one that started at <paramref name="started"/>.</summary>
    private static bool IsRunning(int id, DateTime started)
    {
        try
        {
            using var process = Process.GetProcessById(id);
            return !process.HasExited && (process.StartTime.ToUniversalTime() - started).Duration() <= StartTimeTolerance;
        }
        catch (Exception exception) when (exception is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            return false;
        }
    }

    private sealed record Entry(int HostId, DateTime HostStarted, int WorkerId, DateTime WorkerStarted);
}
