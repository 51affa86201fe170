namespace Diffusion.ML.Zoo;

/// <summary>
/// An exclusive OS lock on a lock file (<c>flock</c> on Linux and macOS, a share-mode lock on Windows), held until disposed.
/// The OS drops it when the process ends, so a killed puller leaves no stale lock. It works between processes and between
/// threads of one process alike, because each holder opens its own handle.
/// </summary>
public sealed class ZooFileLock : IDisposable
{
    private readonly FileStream _handle;

    private ZooFileLock(FileStream handle) => _handle = handle;

    /// <summary>The lock file.</summary>
    public string Path => _handle.Name;

    /// <summary>
    /// Takes the lock on <paramref name="path"/> (created if missing), polling while another holder has it.
    /// </summary>
    /// <exception cref="ZooException">Kind <see cref="ZooErrorKind.LockTimeout"/> when <paramref name="timeout"/> passes first.</exception>
    public static async Task<ZooFileLock> AcquireAsync(string path, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!);
        var deadline = DateTime.UtcNow + timeout;
        var wait = TimeSpan.FromMilliseconds(20);
        while (true)
        {
            try
            {
                return new ZooFileLock(new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None));
            }
            catch (IOException e) when (IsHeldElsewhere(e))
            {
                if (DateTime.UtcNow >= deadline)
                    throw new ZooException(ZooErrorKind.LockTimeout,
                        $"Another process has held the zoo cache lock '{path}' for more than {timeout.TotalSeconds:0} s (it is probably downloading the same " +
                        "model). Wait for it to finish and run the command again, or raise the lock timeout.", e);
                await Task.Delay(wait, cancellationToken).ConfigureAwait(false);
                wait = TimeSpan.FromMilliseconds(Math.Min(wait.TotalMilliseconds * 2, 500));
            }
        }
    }

    /// <summary>
    /// Whether opening failed because someone else holds the lock: EWOULDBLOCK (Linux 11, macOS 35) on Unix,
    /// a sharing or lock violation (32, 33) on Windows.
    /// </summary>
    private static bool IsHeldElsewhere(IOException e) => e.GetType() == typeof(IOException) && (e.HResult & 0xFFFF) is 11 or 35 or 32 or 33;

    /// <summary>Releases the lock.</summary>
    public void Dispose() => _handle.Dispose();
}
