namespace Diffusion.ML.Zoo;

/// <summary>Explains failures to write into the zoo cache.</summary>
internal static class ZooDiskErrors
{
    /// <summary>
    /// Whether <paramref name="e"/> reports a full disk or quota: ENOSPC (28) or EDQUOT on Unix, ERROR_DISK_FULL (112) or
    /// ERROR_HANDLE_DISK_FULL (39) on Windows.
    /// </summary>
    public static bool IsDiskFull(Exception e) => e is IOException && (e.HResult & 0xFFFF) switch
    {
        28 => !OperatingSystem.IsWindows(),
        122 => OperatingSystem.IsLinux(), // EDQUOT on Linux
        69 => OperatingSystem.IsMacOS() || OperatingSystem.IsFreeBSD(), // EDQUOT on BSDs
        112 or 39 => OperatingSystem.IsWindows(),
        _ => false,
    };

    /// <summary>The exception to throw when writing <paramref name="path"/> failed with <paramref name="e"/>.</summary>
    public static ZooException ForWrite(Exception e, string path) => IsDiskFull(e)
        ? new ZooException(ZooErrorKind.DiskFull,
            $"The disk is full while writing '{path}' ({e.Message}). Free space there, or put the cache elsewhere with --cache-dir or " +
            $"${ZooCacheLayout.CacheEnvironmentVariable}; the bytes already downloaded are kept and the next pull resumes.", e)
        : new ZooException(ZooErrorKind.CacheWriteFailed,
            $"Could not write '{path}' in the zoo cache: {e.Message}. Make the cache folder writable, or choose another with --cache-dir or " +
            $"${ZooCacheLayout.CacheEnvironmentVariable}.", e);
}
