using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Workflows.Testing;

/// <summary>
/// Debian's Chromium, headless, driven over the Chrome DevTools protocol on one page: navigate, evaluate JavaScript,
/// wait for a condition. No browser is downloaded: the executable is <c>CHROMIUM_PATH</c>, else <c>/usr/bin/chromium</c>;
/// when it is missing on a machine where this process may run apt-get (root), it is installed as .ci/run does; otherwise
/// starting fails with what to install, so the tests fail rather than skip.
/// </summary>
public sealed class Chromium : IAsyncDisposable
{
    private static readonly TimeSpan StartBound = TimeSpan.FromSeconds(60);
    private static readonly SemaphoreSlim InstallGate = new(1, 1);

    private readonly Process _process;
    private readonly string _profile;
    private readonly ClientWebSocket _socket;
    private readonly ConcurrentDictionary<int, TaskCompletionSource<JsonElement>> _pending = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _receiver;
    private int _nextId;

    private Chromium(Process process, string profile, ClientWebSocket socket)
    {
        _process = process;
        _profile = profile;
        _socket = socket;
        _receiver = Task.Run(ReceiveAsync);
    }

    /// <summary>Starts the browser with one blank page and connects to that page.</summary>
    public static async Task<Chromium> StartAsync()
    {
        var executable = await ExecutableAsync();
        var profile = Directory.CreateTempSubdirectory("workflows-chromium-").FullName;
        var info = new ProcessStartInfo(executable) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var argument in new[]
        {
            "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--no-default-browser-check",
            "--remote-debugging-port=0", "--remote-debugging-address=127.0.0.1", "--user-data-dir=" + profile, "about:blank",
        })
        {
            info.ArgumentList.Add(argument);
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException($"{executable} did not start.");
        process.OutputDataReceived += static (_, _) => { };
        process.ErrorDataReceived += static (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            // Chromium writes the port it chose to DevToolsActivePort in the profile once it listens.
            var portFile = Path.Combine(profile, "DevToolsActivePort");
            var deadline = Stopwatch.StartNew();
            while (!File.Exists(portFile) || (await File.ReadAllLinesAsync(portFile)).Length < 2)
            {
                if (process.HasExited || deadline.Elapsed > StartBound)
                {
                    throw new InvalidOperationException($"{executable} did not open its DevTools port within {StartBound.TotalSeconds} s (exit code {(process.HasExited ? process.ExitCode : null)}).");
                }

                await Task.Delay(50);
            }

            var port = int.Parse((await File.ReadAllLinesAsync(portFile))[0], System.Globalization.CultureInfo.InvariantCulture);
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/") };
            var targets = await http.GetFromJsonAsync<JsonElement>("json/list");
            var page = targets.EnumerateArray().First(static t => t.GetProperty("type").GetString() == "page");
            var socket = new ClientWebSocket();
            await socket.ConnectAsync(new Uri(page.GetProperty("webSocketDebuggerUrl").GetString()!), CancellationToken.None);
            var browser = new Chromium(process, profile, socket);
            await browser.SendAsync("Page.enable");
            await browser.SendAsync("Runtime.enable");
            return browser;
        }
        catch
        {
            process.Kill(entireProcessTree: true);
            process.Dispose();
            Directory.Delete(profile, recursive: true);
            throw;
        }
    }

    /// <summary>Opens <paramref name="url"/> and waits until its document has loaded.</summary>
    public async Task NavigateAsync(Uri url)
    {
        await SendAsync("Page.navigate", new JsonObject { ["url"] = url.ToString() });
        await WaitForAsync("document.readyState === 'complete' && location.href !== 'about:blank'");
    }

    /// <summary>The value of <paramref name="expression"/> in the page (promises awaited); a JavaScript exception fails.</summary>
    public async Task<JsonElement> EvaluateAsync(string expression)
    {
        var result = await SendAsync("Runtime.evaluate", new JsonObject { ["expression"] = expression, ["returnByValue"] = true, ["awaitPromise"] = true });
        if (result.TryGetProperty("exceptionDetails", out var exception))
        {
            throw new InvalidOperationException($"JavaScript failed: {exception}");
        }

        return result.GetProperty("result").TryGetProperty("value", out var value) ? value.Clone() : default;
    }

    /// <summary>Evaluates <paramref name="condition"/> until it is true; fails with its last value after <paramref name="seconds"/>.</summary>
    public async Task WaitForAsync(string condition, int seconds = 30)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var value = await EvaluateAsync($"Boolean({condition})");
            if (value.ValueKind == JsonValueKind.True)
            {
                return;
            }

            if (deadline.Elapsed > TimeSpan.FromSeconds(seconds))
            {
                throw new TimeoutException($"'{condition}' was not true within {seconds} s; the page says: {await EvaluateAsync("document.body ? document.body.innerText.slice(0, 2000) : ''")}");
            }

            await Task.Delay(100);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _socket.Abort();
        _socket.Dispose();
        try
        {
            await _receiver;
        }
        catch (Exception exception) when (exception is OperationCanceledException or WebSocketException or ObjectDisposedException)
        {
            // The connection was cut on purpose.
        }

        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
        _stop.Dispose();
        Directory.Delete(_profile, recursive: true);
    }

    private async Task<JsonElement> SendAsync(string method, JsonObject? parameters = null)
    {
        var id = Interlocked.Increment(ref _nextId);
        var answer = new TaskCompletionSource<JsonElement>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = answer;
        var message = new JsonObject { ["id"] = id, ["method"] = method, ["params"] = parameters ?? [] };
        await _socket.SendAsync(Encoding.UTF8.GetBytes(message.ToJsonString()), WebSocketMessageType.Text, endOfMessage: true, _stop.Token);
        return await answer.Task.WaitAsync(TimeSpan.FromSeconds(60));
    }

    private async Task ReceiveAsync()
    {
        var buffer = new byte[64 * 1024];
        using var message = new MemoryStream();
        while (!_stop.IsCancellationRequested)
        {
            var received = await _socket.ReceiveAsync(buffer, _stop.Token);
            if (received.MessageType == WebSocketMessageType.Close)
            {
                return;
            }

            message.Write(buffer, 0, received.Count);
            if (!received.EndOfMessage)
            {
                continue;
            }

            using var document = JsonDocument.Parse(message.ToArray());
            message.SetLength(0);
            var root = document.RootElement;
            if (root.TryGetProperty("id", out var id) && _pending.TryRemove(id.GetInt32(), out var answer))
            {
                if (root.TryGetProperty("error", out var error))
                {
                    answer.SetException(new InvalidOperationException($"DevTools error: {error}"));
                }
                else
                {
                    answer.SetResult(root.GetProperty("result").Clone());
                }
            }
        }
    }

    /// <summary>The browser's executable, installed with apt-get when missing and this process may.</summary>
    private static async Task<string> ExecutableAsync()
    {
        var executable = Environment.GetEnvironmentVariable("CHROMIUM_PATH") is { Length: > 0 } given ? given : "/usr/bin/chromium";
        if (File.Exists(executable))
        {
            return executable;
        }

        await InstallGate.WaitAsync();
        try
        {
            if (!File.Exists(executable) && OperatingSystem.IsLinux() && Environment.UserName == "root" && File.Exists("/usr/bin/apt-get"))
            {
                await RunAsync("/usr/bin/apt-get", "update", "-qq");
                await RunAsync("/usr/bin/apt-get", "install", "-y", "-qq", "--no-install-recommends", "chromium");
            }
        }
        finally
        {
            InstallGate.Release();
        }

        return File.Exists(executable)
            ? executable
            : throw new InvalidOperationException(
                $"No browser at {executable}: install Debian's Chromium (apt-get install chromium) or set CHROMIUM_PATH. The dashboard's browser tests do not run without one.");
    }

    private static async Task RunAsync(string file, params string[] arguments)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.Environment["DEBIAN_FRONTEND"] = "noninteractive";
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', arguments)} failed ({process.ExitCode}): {await error}{await output}");
        }
    }
}
