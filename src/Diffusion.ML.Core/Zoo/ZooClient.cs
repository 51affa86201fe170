using Diffusion.ML.Data;

namespace Diffusion.ML.Zoo;

/// <summary>
/// Lists and pulls zoo models: reads the manifest at the base URL (or, offline, from the cache or the in-repository
/// zoo), and downloads model files into the cache with resume, bounded retries, SHA-256 verification before a file
/// becomes visible, and a per-model lock file so that concurrent pulls download once. See docs/zoo.md.
/// </summary>
public sealed class ZooClient : IDisposable
{
    private readonly HttpClient _http;
    private readonly Lazy<IZooSource> _source;
    private ZooManifest? _manifest;

    /// <summary>Creates a client with <paramref name="options"/> (defaults if null).</summary>
    public ZooClient(ZooClientOptions? options = null) : this(options, null)
    {
    }

    /// <summary>Creates a client that sends its HTTP requests through <paramref name="handler"/> (a proxy or test handler; null = the default).</summary>
    public ZooClient(ZooClientOptions? options, HttpMessageHandler? handler)
    {
        Options = options ?? new ZooClientOptions();
        Options.Validate();
        CacheDirectory = Options.ResolveCacheDirectory();
        BaseUrl = Options.ResolveBaseUrl();
        _http = handler is null ? new HttpClient() : new HttpClient(handler, disposeHandler: false);
        _http.Timeout = Options.StallTimeout;
        _http.DefaultRequestHeaders.UserAgent.ParseAdd("diffusion-ml-zoo/1");
        _source = new Lazy<IZooSource>(() => ZooSources.Create(BaseUrl, _http));
    }

    /// <summary>The options.</summary>
    public ZooClientOptions Options { get; }

    /// <summary>The cache folder in effect.</summary>
    public string CacheDirectory { get; }

    /// <summary>The base URL in effect (unused offline).</summary>
    public string BaseUrl { get; }

    /// <summary>
    /// The manifest: fetched from the base URL (and kept in the cache for offline use), or offline the cached copy,
    /// else the in-repository one. Fetched once per client.
    /// </summary>
    /// <exception cref="ZooException">The manifest is missing, unreachable or corrupt; the message says which and what to do.</exception>
    public async Task<ZooManifest> GetManifestAsync(CancellationToken cancellationToken = default)
        => _manifest ??= Options.Offline ? LoadOfflineManifest() : await FetchManifestAsync(cancellationToken).ConfigureAwait(false);

    /// <summary>The model called <paramref name="id"/> in the manifest.</summary>
    /// <exception cref="ZooException">Kind <see cref="ZooErrorKind.UnknownModel"/>, or a manifest failure.</exception>
    public async Task<ZooModel> GetModelAsync(string id, CancellationToken cancellationToken = default)
        => (await GetManifestAsync(cancellationToken).ConfigureAwait(false)).Find(id);

    /// <summary>
    /// Makes verified local copies of every file of model <paramref name="id"/> and returns their paths. Online, files
    /// already verified in the cache are kept and the others downloaded under the model's lock; offline, the cache and
    /// then the in-repository zoo are used.
    /// </summary>
    /// <exception cref="ZooException">Unknown model, 404, checksum mismatch, full disk, network failure after the retries,
    /// lock timeout, or offline without a copy; nothing unverified is left visible.</exception>
    public async Task<ZooPullResult> PullAsync(string id, IProgress<ZooProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        var model = await GetModelAsync(id, cancellationToken).ConfigureAwait(false);
        string directory = ZooCacheLayout.ModelDirectory(CacheDirectory, model);
        return Options.Offline
            ? new ZooPullResult(model, model.Files.Select(f => FindOffline(model, f, directory)).ToArray(), 0, 0)
            : await DownloadAsync(model, directory, progress, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The cached path of each file of <paramref name="model"/> that is present with the recorded size (not hashed), else null.</summary>
    public IReadOnlyList<string?> FindCachedFiles(ZooModel model)
    {
        string directory = ZooCacheLayout.ModelDirectory(CacheDirectory, model);
        return model.Files.Select(f =>
        {
            var info = new FileInfo(ZooCacheLayout.FilePath(directory, f.Path));
            return info.Exists && info.Length == f.Size ? info.FullName : null;
        }).ToArray();
    }

    /// <summary>Releases the HTTP client.</summary>
    public void Dispose() => _http.Dispose();

    private async Task<ZooManifest> FetchManifestAsync(CancellationToken cancellationToken)
    {
        var source = _source.Value;
        string location = source.Locate(ZooManifest.FileName);
        string json = await ZooRetry.RunAsync(Options, $"Fetching the zoo manifest {location}",
            "Check the network and the base URL, or use --offline to read the cached or in-repository manifest.",
            async ct =>
            {
                using var stream = await source.OpenAsync(ZooManifest.FileName, 0, ct).ConfigureAwait(false);
                using var reader = new StreamReader(stream.Content);
                return await reader.ReadToEndAsync(ct).ConfigureAwait(false);
            }, cancellationToken).ConfigureAwait(false);
        var manifest = ZooManifest.Parse(json, location);
        string cached = ZooCacheLayout.ManifestPath(CacheDirectory);
        try
        {
            AtomicFile.WriteAllBytes(cached, System.Text.Encoding.UTF8.GetBytes(json));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw ZooDiskErrors.ForWrite(e, cached);
        }
        return manifest;
    }

    private ZooManifest LoadOfflineManifest()
    {
        string cached = ZooCacheLayout.ManifestPath(CacheDirectory);
        if (File.Exists(cached)) return ZooManifest.Load(cached);
        string? local = LocalZoo();
        if (local is not null && File.Exists(Path.Combine(local, ZooManifest.FileName))) return ZooManifest.Load(Path.Combine(local, ZooManifest.FileName));
        throw new ZooException(ZooErrorKind.OfflineNotCached,
            $"Offline, and there is no zoo manifest: not in the cache ('{cached}') nor in an in-repository zoo folder ({DescribeLocalZoo(local)}). " +
            "Run the command once without --offline, point --cache-dir at a cache that has one, or run from a clone of the repository.");
    }

    private string FindOffline(ZooModel model, ZooFile file, string cacheDirectory)
    {
        string cached = ZooCacheLayout.FilePath(cacheDirectory, file.Path);
        if (ZooFileCheck.Matches(cached, file)) return cached;
        string? local = LocalZoo();
        string? inRepository = local is null ? null : ZooCacheLayout.FilePath(Path.Combine(local, model.Id), file.Path);
        if (inRepository is not null && ZooFileCheck.Matches(inRepository, file)) return inRepository;
        string why = File.Exists(cached) ? $"the cached copy '{cached}' does not match the manifest ({ZooFileCheck.Mismatch(cached, file)})"
            : $"it is not in the cache ('{cached}')";
        string repositoryWhy = inRepository is not null && File.Exists(inRepository)
            ? $"the in-repository copy '{inRepository}' does not match the manifest ({ZooFileCheck.Mismatch(inRepository, file)})"
            : $"nor in an in-repository zoo folder ({DescribeLocalZoo(local)})";
        throw new ZooException(ZooErrorKind.OfflineNotCached,
            $"Offline, and file '{file.Path}' of model '{model.Id}' {model.Version} is not available: {why}, {repositoryWhy}. " +
            $"Run 'diffusion-ml zoo pull {model.Id}' without --offline to download it.");
    }

    private async Task<ZooPullResult> DownloadAsync(ZooModel model, string directory, IProgress<ZooProgress>? progress, CancellationToken cancellationToken)
    {
        var source = _source.Value;
        var paths = new string[model.Files.Count];
        int downloaded = 0;
        long bytes = 0;
        using var hold = await ZooFileLock.AcquireAsync(Path.Combine(directory, ZooCacheLayout.LockFileName), Options.LockTimeout, cancellationToken)
            .ConfigureAwait(false);
        for (int i = 0; i < model.Files.Count; i++)
        {
            var file = model.Files[i];
            paths[i] = ZooCacheLayout.FilePath(directory, file.Path);
            if (File.Exists(paths[i]))
            {
                if (ZooFileCheck.Matches(paths[i], file))
                {
                    progress?.Report(new ZooProgress(file.Path, file.Size, file.Size));
                    continue;
                }
                File.Delete(paths[i]); // damaged since it was verified: fetch it again
            }
            Directory.CreateDirectory(Path.GetDirectoryName(paths[i])!);
            string part = paths[i] + ZooCacheLayout.PartialSuffix;
            string remotePath = $"{model.Id}/{file.Path}";
            await ZooDownload.DownloadAsync(source, remotePath, file, part, Options, progress, cancellationToken).ConfigureAwait(false);
            Publish(part, paths[i], file, source.Locate(remotePath));
            downloaded++;
            bytes += file.Size;
        }
        return new ZooPullResult(model, paths, downloaded, bytes);
    }

    /// <summary>Renames the partial file to its final name once its size and SHA-256 match; deletes it otherwise.</summary>
    private static void Publish(string part, string final, ZooFile file, string location)
    {
        string? mismatch = ZooFileCheck.Mismatch(part, file);
        if (mismatch is not null)
        {
            File.Delete(part);
            throw new ZooException(ZooErrorKind.ChecksumMismatch,
                $"The download of {location} was refused: {mismatch}. Nothing was added to the cache. The server's copy is not the file the " +
                "manifest describes (a damaged or out-of-date mirror, or a stale manifest); retrying does not help: fix the mirror or the manifest.");
        }
        File.Move(part, final, overwrite: true);
    }

    private string? LocalZoo() => Options.LocalZooDirectory ?? ZooRepository.Find();

    private string DescribeLocalZoo(string? local) => local is not null ? $"'{local}'"
        : Options.LocalZooDirectory is null ? $"none found from '{Environment.CurrentDirectory}' or '{AppContext.BaseDirectory}'" : "none";
}
