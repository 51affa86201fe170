using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Diffusion.ML.Core.Tests.Zoo;

/// <summary>
/// A real HTTP server on 127.0.0.1 (HttpListener, a free port) serving bytes the test controls, with Range support,
/// and faults on demand: drop the connection after some bytes, answer 500, pause midway. It records every request.
/// </summary>
internal sealed class LoopbackZooServer : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly ConcurrentDictionary<string, byte[]> _files = new();
    private readonly ConcurrentDictionary<string, (int AfterBytes, int Times)> _drops = new();
    private readonly ConcurrentDictionary<string, int> _errors = new();
    private readonly Task _loop;

    public LoopbackZooServer()
    {
        for (int attempt = 0; ; attempt++)
        {
            int port = FreePort();
            _listener.Prefixes.Clear();
            _listener.Prefixes.Add($"http://127.0.0.1:{port}/");
            try
            {
                _listener.Start();
                BaseUrl = $"http://127.0.0.1:{port}/zoo";
                break;
            }
            catch (HttpListenerException) when (attempt < 5)
            {
            }
        }
        _loop = Task.Run(AcceptAsync);
    }

    /// <summary>The zoo's base URL on this server.</summary>
    public string BaseUrl { get; } = "";

    /// <summary>Every request: path below the base URL and its Range header (null if none).</summary>
    public ConcurrentQueue<(string Path, string? Range)> Requests { get; } = new();

    /// <summary>Bytes the server sends of a file before it pauses for <see cref="PauseMidway"/> (null: no pause).</summary>
    public TimeSpan? PauseMidway { get; set; }

    /// <summary>Answer Range requests with the whole file (200), as servers without range support do.</summary>
    public bool IgnoreRange { get; set; }

    public void Serve(string path, byte[] bytes) => _files[path] = bytes;

    public void Remove(string path) => _files.TryRemove(path, out _);

    /// <summary>The next <paramref name="times"/> responses for <paramref name="path"/> send <paramref name="afterBytes"/> bytes and drop the connection.</summary>
    public void Drop(string path, int afterBytes, int times = 1) => _drops[path] = (afterBytes, times);

    /// <summary>The next <paramref name="times"/> requests for <paramref name="path"/> get HTTP 500.</summary>
    public void Fail(string path, int times) => _errors[path] = times;

    public int CountRequests(string path) => Requests.Count(r => r.Path == path);

    public void Dispose()
    {
        _listener.Stop();
        _listener.Close();
        try { _loop.Wait(TimeSpan.FromSeconds(5)); } catch (AggregateException) { }
    }

    private static int FreePort()
    {
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        int port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        return port;
    }

    private async Task AcceptAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }
            _ = Task.Run(() => HandleAsync(context));
        }
    }

    private async Task HandleAsync(HttpListenerContext context)
    {
        var response = context.Response;
        try
        {
            string path = context.Request.Url!.AbsolutePath;
            path = path.StartsWith("/zoo/", StringComparison.Ordinal) ? Uri.UnescapeDataString(path["/zoo/".Length..]) : path;
            string? range = context.Request.Headers["Range"];
            Requests.Enqueue((path, range));
            if (_errors.TryGetValue(path, out int errors) && errors > 0)
            {
                _errors[path] = errors - 1;
                response.StatusCode = 500;
                response.Close();
                return;
            }
            if (!_files.TryGetValue(path, out var bytes))
            {
                response.StatusCode = 404;
                response.Close();
                return;
            }
            long start = 0;
            if (range is not null && !IgnoreRange && range.StartsWith("bytes=", StringComparison.Ordinal) && range.EndsWith('-'))
            {
                start = long.Parse(range["bytes=".Length..^1]);
                response.StatusCode = 206;
                response.Headers["Content-Range"] = $"bytes {start}-{bytes.Length - 1}/{bytes.Length}";
            }
            response.ContentLength64 = bytes.Length - start;
            int count = (int)(bytes.Length - start);
            if (_drops.TryGetValue(path, out var drop) && drop.Times > 0)
            {
                _drops[path] = drop with { Times = drop.Times - 1 };
                int sent = Math.Min(drop.AfterBytes, count);
                await response.OutputStream.WriteAsync(bytes.AsMemory((int)start, sent));
                await response.OutputStream.FlushAsync();
                response.Abort(); // the connection closes before Content-Length bytes arrived
                return;
            }
            int half = count / 2;
            await response.OutputStream.WriteAsync(bytes.AsMemory((int)start, half));
            if (PauseMidway is { } pause)
            {
                await response.OutputStream.FlushAsync();
                await Task.Delay(pause);
            }
            await response.OutputStream.WriteAsync(bytes.AsMemory((int)start + half, count - half));
            response.Close();
        }
        catch (Exception e) when (e is HttpListenerException or IOException or ObjectDisposedException)
        {
            response.Abort();
        }
    }
}
