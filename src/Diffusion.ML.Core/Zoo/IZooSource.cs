namespace Diffusion.ML.Zoo;

/// <summary>
/// Where zoo files come from (an HTTP server or a folder). Permanent failures are <see cref="ZooException"/>s; anything
/// else thrown (<see cref="HttpRequestException"/>, <see cref="IOException"/>, timeouts) is worth a retry.
/// </summary>
internal interface IZooSource
{
    /// <summary>The URL or path of <paramref name="relativePath"/>, for messages.</summary>
    string Locate(string relativePath);

    /// <summary>
    /// Opens <paramref name="relativePath"/> at byte <paramref name="offset"/> if the source can (a Range request);
    /// <see cref="ZooReadStream.Offset"/> says where the stream really starts (0 when the server sent the whole file).
    /// </summary>
    Task<ZooReadStream> OpenAsync(string relativePath, long offset, CancellationToken cancellationToken);
}

/// <summary>A readable stream of a zoo file that starts at <see cref="Offset"/>, and what must be disposed with it.</summary>
internal sealed class ZooReadStream(Stream content, long offset, IDisposable? owner = null) : IDisposable
{
    public Stream Content { get; } = content;

    public long Offset { get; } = offset;

    public void Dispose()
    {
        Content.Dispose();
        owner?.Dispose();
    }
}
