namespace Diffusion.ML.Zoo;

/// <summary>
/// Fills a partial file (<c>&lt;name&gt;.part</c>) with a zoo file's bytes, continuing what an earlier attempt or process
/// left there, retrying transient failures. It never makes the file visible: the caller verifies and renames it.
/// </summary>
internal static class ZooDownload
{
    private const int BufferSize = 1 << 16;

    /// <summary>
    /// Downloads <paramref name="file"/>, at <paramref name="remotePath"/> of <paramref name="source"/>, until
    /// <paramref name="partPath"/> holds its full size.
    /// </summary>
    public static Task DownloadAsync(IZooSource source, string remotePath, ZooFile file, string partPath, ZooClientOptions options,
        IProgress<ZooProgress>? progress, CancellationToken cancellationToken)
    {
        string location = source.Locate(remotePath);
        return ZooRetry.RunAsync(options, $"Downloading {location}",
            $"The bytes received so far are kept in '{partPath}'; run the pull again to resume, or check the network and the base URL.",
            async ct =>
            {
                await AttemptAsync(source, remotePath, file, partPath, location, options.StallTimeout, progress, ct).ConfigureAwait(false);
                return true;
            }, cancellationToken);
    }

    private static async Task AttemptAsync(IZooSource source, string remotePath, ZooFile file, string partPath, string location, TimeSpan stallTimeout,
        IProgress<ZooProgress>? progress, CancellationToken cancellationToken)
    {
        using var output = OpenPart(partPath);
        long present = output.Length; // of the opened file, so a symbolic link's target counts, not the link
        if (present > file.Size) present = 0; // not a prefix of this file: start over
        if (present == file.Size && present > 0) return;

        using var input = await source.OpenAsync(remotePath, present, cancellationToken).ConfigureAwait(false);
        long written = input.Offset;
        WriteToCache(() =>
        {
            if (output.Length != written) output.SetLength(written);
            if (written > 0) output.Seek(written, SeekOrigin.Begin);
        }, partPath);
        var buffer = new byte[BufferSize];
        while (true)
        {
            int read = await ReadAsync(input.Content, buffer, stallTimeout, location, cancellationToken).ConfigureAwait(false);
            if (read == 0) break;
            if (written + read > file.Size)
            {
                output.Dispose();
                File.Delete(partPath);
                throw new ZooException(ZooErrorKind.ChecksumMismatch,
                    $"{location} is longer than the {file.Size:N0} bytes the manifest records, so it is not the file the manifest describes; nothing was added to the cache. " +
                    "The mirror is out of date or damaged, or the manifest is stale: fix the mirror or the manifest; retrying does not help.");
            }
            WriteToCache(() => output.Write(buffer, 0, read), partPath);
            written += read;
            progress?.Report(new ZooProgress(file.Path, written, file.Size));
        }
        WriteToCache(() => output.Flush(flushToDisk: true), partPath);
        if (written < file.Size)
            throw new IOException($"the transfer of {location} ended after {written:N0} of {file.Size:N0} bytes"); // transient: the next attempt resumes
    }

    /// <summary>Opens (or creates) the partial file for writing.</summary>
    private static FileStream OpenPart(string partPath)
    {
        FileStream? stream = null;
        WriteToCache(() => stream = new FileStream(partPath, FileMode.OpenOrCreate, FileAccess.Write, FileShare.None, bufferSize: 0), partPath);
        return stream!;
    }

    private static async Task<int> ReadAsync(Stream input, byte[] buffer, TimeSpan stallTimeout, string location, CancellationToken cancellationToken)
    {
        using var stall = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        stall.CancelAfter(stallTimeout);
        try
        {
            return await input.ReadAsync(buffer, stall.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"no bytes came from {location} for {stallTimeout.TotalSeconds:0} s");
        }
    }

    /// <summary>Runs a write to the cache; a full disk or another local failure becomes a permanent <see cref="ZooException"/>.</summary>
    private static void WriteToCache(Action write, string partPath)
    {
        try
        {
            write();
        }
        catch (IOException e) when (e is not ZooException)
        {
            throw ZooDiskErrors.ForWrite(e, partPath);
        }
        catch (UnauthorizedAccessException e)
        {
            throw ZooDiskErrors.ForWrite(e, partPath);
        }
    }
}
