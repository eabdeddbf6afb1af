using System.Buffers.Text;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Workflows.Bench;

/// <summary>
/// A lean HTTP/1.1 load generator in the manner of wrk: <c>concurrency</c> keep-alive connections, each sending one
/// request and reading its whole response before the next (no pipelining). Requests are encoded once, up front; a
/// response is read by its status line and <c>Content-Length</c> (the service answers with one), so the generator
/// spends its share of the shared cores on sockets, not on an HTTP client's objects. Any status other than 200 fails
/// the run.
/// </summary>
internal static class LoopbackLoadGenerator
{
    /// <summary>
    /// Sends the POST <paramref name="bodies"/> round-robin to <paramref name="path"/> until the time is up or
    /// <paramref name="stop"/> is cancelled; every request's latency in ms.
    /// </summary>
    public static async Task<(long Requests, double Seconds, double[] LatenciesMs)> RunAsync(
        Uri server, string path, byte[][] bodies, int concurrency, TimeSpan duration, CancellationToken stop = default)
    {
        var requests = bodies.Select(body => Encode(server, path, body)).ToArray();
        var endPoint = new IPEndPoint(IPAddress.Parse(server.Host), server.Port);
        var connections = new List<Socket>(concurrency);
        try
        {
            for (var i = 0; i < concurrency; i++)
            {
                var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                connections.Add(socket);
                await socket.ConnectAsync(endPoint);
            }

            var wall = Stopwatch.StartNew();
            var loops = connections.Select((socket, worker) => Task.Run(() => LoopAsync(socket, requests, worker, concurrency, wall, duration, stop))).ToArray();
            var latencies = (await Task.WhenAll(loops)).SelectMany(list => list).ToArray();
            return (latencies.Length, wall.Elapsed.TotalSeconds, latencies);
        }
        finally
        {
            foreach (var socket in connections)
            {
                socket.Dispose();
            }
        }
    }

    private static async Task<List<double>> LoopAsync(Socket socket, byte[][] requests, int worker, int concurrency, Stopwatch wall, TimeSpan duration, CancellationToken stop)
    {
        var latencies = new List<double>(4096);
        var buffer = new byte[64 * 1024];
        for (var i = worker; wall.Elapsed < duration && !stop.IsCancellationRequested; i += concurrency)
        {
            var started = Stopwatch.GetTimestamp();
            await socket.SendAsync(requests[i % requests.Length], SocketFlags.None);
            await ReadResponseAsync(socket, buffer);
            latencies.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }

        return latencies;
    }

    /// <summary>Reads one whole response (head and Content-Length body); fails the run on anything but 200.</summary>
    private static async Task ReadResponseAsync(Socket socket, byte[] buffer)
    {
        var filled = 0;
        int headEnd;
        while ((headEnd = buffer.AsSpan(0, filled).IndexOf("\r\n\r\n"u8)) < 0)
        {
            filled += await ReceiveAsync(socket, buffer, filled);
        }

        var head = buffer.AsSpan(0, headEnd);
        if (!head.StartsWith("HTTP/1.1 200 "u8))
        {
            throw new BenchFailedException($"The service answered: {Encoding.ASCII.GetString(head)}");
        }

        var total = headEnd + 4 + ContentLength(head);
        if (total > buffer.Length)
        {
            throw new BenchFailedException($"A response of {total} bytes is larger than the generator's buffer.");
        }

        while (filled < total)
        {
            filled += await ReceiveAsync(socket, buffer, filled);
        }

        if (filled != total)
        {
            throw new BenchFailedException("The service sent more than one response for one request.");
        }
    }

    private static async ValueTask<int> ReceiveAsync(Socket socket, byte[] buffer, int filled)
    {
        if (filled == buffer.Length)
        {
            throw new BenchFailedException("A response head is larger than the generator's buffer.");
        }

        var received = await socket.ReceiveAsync(buffer.AsMemory(filled), SocketFlags.None);
        return received > 0 ? received : throw new BenchFailedException("The service closed the connection.");
    }

    private static int ContentLength(ReadOnlySpan<byte> head)
    {
        var name = "\r\ncontent-length:"u8;
        for (var at = head.IndexOf("\r\n"u8); at >= 0 && at + name.Length <= head.Length; at = NextLine(head, at))
        {
            if (Ascii.EqualsIgnoreCase(head.Slice(at, name.Length), name))
            {
                var value = head[(at + name.Length)..];
                var end = value.IndexOf("\r\n"u8);
                return Utf8Parser.TryParse((end < 0 ? value : value[..end]).Trim((byte)' '), out int length, out _)
                    ? length
                    : throw new BenchFailedException("The response's Content-Length is not a number.");
            }
        }

        throw new BenchFailedException($"The response has no Content-Length (the generator reads no chunked responses): {Encoding.ASCII.GetString(head)}");
    }

    private static int NextLine(ReadOnlySpan<byte> head, int at)
    {
        var next = head[(at + 2)..].IndexOf("\r\n"u8);
        return next < 0 ? -1 : at + 2 + next;
    }

    private static byte[] Encode(Uri server, string path, byte[] body)
    {
        var head = $"POST /{path} HTTP/1.1\r\nHost: {server.Authority}\r\nContent-Type: application/json\r\nContent-Length: {body.Length}\r\n\r\n";
        return [.. Encoding.ASCII.GetBytes(head), .. body];
    }
}
