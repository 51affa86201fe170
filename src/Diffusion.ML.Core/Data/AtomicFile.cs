namespace Diffusion.ML.Data;

/// <summary>Writes files so that readers never see a half-written file.</summary>
public static class AtomicFile
{
    /// <summary>
    /// Writes <paramref name="bytes"/> to a temporary file in the target's directory (created if missing)
    /// and then moves it over <paramref name="path"/>.
    /// </summary>
    public static void WriteAllBytes(string path, ReadOnlySpan<byte> bytes)
    {
        byte[] copy = bytes.ToArray();
        Write(path, stream => stream.Write(copy));
    }

    /// <summary>Writes <paramref name="text"/> as UTF-8 (no byte-order mark) the same way as <see cref="WriteAllBytes"/>.</summary>
    public static void WriteAllText(string path, string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        WriteAllBytes(path, System.Text.Encoding.UTF8.GetBytes(text));
    }

    /// <summary>
    /// Lets <paramref name="write"/> fill a temporary file in the target's directory (created if missing), flushes it to
    /// disk and then moves it over <paramref name="path"/>; if anything fails the old file is untouched.
    /// </summary>
    public static void Write(string path, Action<Stream> write)
    {
        ArgumentNullException.ThrowIfNull(write);
        string fullPath = Path.GetFullPath(path);
        string directory = Path.GetDirectoryName(fullPath)!;
        Directory.CreateDirectory(directory);
        string tempPath = Path.Combine(directory, $".{Path.GetFileName(fullPath)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(tempPath, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                write(stream);
                if (stream.CanWrite) stream.Flush(flushToDisk: true); // the callback may have closed it (e.g. a StreamWriter)
            }

            File.Move(tempPath, fullPath, overwrite: true);
        }
        catch
        {
            File.Delete(tempPath);
            throw;
        }
    }
}
