namespace Diffusion.ML.Zoo;

/// <summary>Zoo files in a local mirror folder (a plain path or a <c>file://</c> URL).</summary>
internal sealed class FolderZooSource(string root) : IZooSource
{
    public string Root { get; } = root;

    public string Locate(string relativePath) => ZooCacheLayout.FilePath(Root, relativePath);

    public Task<ZooReadStream> OpenAsync(string relativePath, long offset, CancellationToken cancellationToken)
    {
        string path = Locate(relativePath);
        if (!File.Exists(path))
            throw new ZooException(ZooErrorKind.NotFound,
                $"The zoo mirror folder '{Root}' has no '{relativePath}' ({path}). Check the base URL (the folder that holds manifest.json and one " +
                "folder per model) and that the mirror is complete.");
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous | FileOptions.SequentialScan);
        long start = offset <= stream.Length ? offset : 0;
        stream.Seek(start, SeekOrigin.Begin);
        return Task.FromResult(new ZooReadStream(stream, start));
    }
}
