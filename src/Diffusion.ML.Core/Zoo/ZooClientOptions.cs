namespace Diffusion.ML.Zoo;

/// <summary>Where a <see cref="ZooClient"/> downloads from, where it caches, and how patiently.</summary>
public sealed record ZooClientOptions
{
    /// <summary>The hub-style location the zoo layout is published at (the manifest's <c>baseUrl</c>).</summary>
    public const string DefaultBaseUrl = "https://huggingface.co/diffusion-ml/zoo/resolve/main";

    /// <summary>Environment variable that overrides <see cref="DefaultBaseUrl"/> when <see cref="BaseUrl"/> is not set.</summary>
    public const string BaseUrlEnvironmentVariable = "DIFFUSION_ML_ZOO_URL";

    /// <summary>
    /// The folder that holds <c>manifest.json</c> and the model folders: an <c>http(s)://</c> URL (a hub's
    /// <c>resolve/main</c> URL or any static server), a <c>file://</c> URL, or a local mirror folder.
    /// Null: <c>$DIFFUSION_ML_ZOO_URL</c>, else <see cref="DefaultBaseUrl"/>.
    /// </summary>
    public string? BaseUrl { get; init; }

    /// <summary>The cache folder. Null: <see cref="ZooCacheLayout.DefaultDirectory"/>.</summary>
    public string? CacheDirectory { get; init; }

    /// <summary>Never use <see cref="BaseUrl"/>: read the cache, then the in-repository zoo folder.</summary>
    public bool Offline { get; init; }

    /// <summary>
    /// The in-repository zoo folder (holding <c>manifest.json</c>) used offline. Null: a <c>zoo/</c> folder with a manifest
    /// found in the current directory, the application's folder, or one of their parents.
    /// </summary>
    public string? LocalZooDirectory { get; init; }

    /// <summary>Retries after a failed attempt (dropped connection, timeout, HTTP 5xx/408/429); 404 and checksum mismatches are not retried.</summary>
    public int MaxRetries { get; init; } = 4;

    /// <summary>Wait before the first retry; it doubles at each further retry up to <see cref="MaxRetryDelay"/>.</summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Longest wait between two attempts.</summary>
    public TimeSpan MaxRetryDelay { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a request may wait for response headers, or a transfer for its next bytes, before the attempt fails.</summary>
    public TimeSpan StallTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>How long a pull waits for another process that holds the model's cache lock.</summary>
    public TimeSpan LockTimeout { get; init; } = TimeSpan.FromHours(1);

    /// <summary>The base URL in effect.</summary>
    public string ResolveBaseUrl() => BaseUrl
        ?? (Environment.GetEnvironmentVariable(BaseUrlEnvironmentVariable) is { Length: > 0 } fromEnvironment ? fromEnvironment : DefaultBaseUrl);

    /// <summary>The cache folder in effect (absolute).</summary>
    public string ResolveCacheDirectory() => CacheDirectory is null ? ZooCacheLayout.DefaultDirectory() : Path.GetFullPath(CacheDirectory);

    internal void Validate()
    {
        if (MaxRetries < 0) throw new ArgumentOutOfRangeException(nameof(MaxRetries), MaxRetries, "MaxRetries must be 0 or more.");
        if (RetryDelay < TimeSpan.Zero || MaxRetryDelay < TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(RetryDelay), "Retry delays must not be negative.");
        if (StallTimeout <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(StallTimeout), StallTimeout, "StallTimeout must be positive.");
        if (LockTimeout < TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(LockTimeout), LockTimeout, "LockTimeout must not be negative.");
    }
}
