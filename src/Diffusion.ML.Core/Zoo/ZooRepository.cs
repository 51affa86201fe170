namespace Diffusion.ML.Zoo;

/// <summary>Finds the zoo folder committed with the repository (<c>zoo/manifest.json</c>), the offline fallback.</summary>
public static class ZooRepository
{
    /// <summary>
    /// The first <c>zoo</c> folder holding a manifest in <paramref name="start"/> or one of its parents; null if none.
    /// </summary>
    public static string? FindFrom(string start)
    {
        for (var dir = new DirectoryInfo(Path.GetFullPath(start)); dir is not null; dir = dir.Parent)
        {
            string zoo = Path.Combine(dir.FullName, "zoo");
            if (File.Exists(Path.Combine(zoo, ZooManifest.FileName))) return zoo;
        }
        return null;
    }

    /// <summary>The in-repository zoo folder found from the current directory, else from the application's folder; null if none.</summary>
    public static string? Find() => FindFrom(Environment.CurrentDirectory) ?? FindFrom(AppContext.BaseDirectory);
}
