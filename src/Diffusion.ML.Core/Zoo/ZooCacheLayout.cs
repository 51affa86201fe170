namespace Diffusion.ML.Zoo;

/// <summary>
/// Where things live in the zoo cache: <c>&lt;cache&gt;/manifest.json</c> (the last manifest fetched) and
/// <c>&lt;cache&gt;/models/&lt;id&gt;/&lt;version&gt;/</c> (a model's verified files, its lock file and partial downloads).
/// </summary>
public static class ZooCacheLayout
{
    /// <summary>Environment variable that overrides the default cache folder.</summary>
    public const string CacheEnvironmentVariable = "DIFFUSION_ML_CACHE";

    /// <summary>Name of the lock file in a model's cache folder.</summary>
    public const string LockFileName = ".lock";

    /// <summary>Suffix of a download that is not yet complete and verified.</summary>
    public const string PartialSuffix = ".part";

    /// <summary>
    /// The default cache folder: <c>$DIFFUSION_ML_CACHE</c> if set, else <c>$XDG_CACHE_HOME/diffusion-ml</c>, else
    /// <c>~/.cache/diffusion-ml</c> (on Windows <c>%LOCALAPPDATA%\diffusion-ml</c>).
    /// </summary>
    public static string DefaultDirectory()
    {
        string? overridden = Environment.GetEnvironmentVariable(CacheEnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(overridden)) return Path.GetFullPath(overridden);
        if (OperatingSystem.IsWindows())
            return Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData), "diffusion-ml");
        string? xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        if (!string.IsNullOrWhiteSpace(xdg) && Path.IsPathRooted(xdg)) return Path.Combine(xdg, "diffusion-ml");
        return Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "diffusion-ml");
    }

    /// <summary>The copy of the last manifest fetched online, read in offline mode.</summary>
    public static string ManifestPath(string cacheDirectory) => Path.Combine(cacheDirectory, ZooManifest.FileName);

    /// <summary>The folder of one version of a model.</summary>
    public static string ModelDirectory(string cacheDirectory, ZooModel model) => Path.Combine(cacheDirectory, "models", model.Id, model.Version);

    /// <summary>The local path of <paramref name="relativePath"/> ('/'-separated) inside <paramref name="directory"/>.</summary>
    public static string FilePath(string directory, string relativePath) => Path.Combine(directory, relativePath.Replace('/', Path.DirectorySeparatorChar));
}
