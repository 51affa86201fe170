namespace Diffusion.ML.Zoo;

/// <summary>Turns a base URL into the source it names.</summary>
internal static class ZooSources
{
    /// <summary>
    /// <c>http(s)://...</c> becomes an HTTP source, <c>file://...</c> and an existing folder a folder source.
    /// </summary>
    /// <exception cref="ZooException">Kind <see cref="ZooErrorKind.InvalidBaseUrl"/> for anything else.</exception>
    public static IZooSource Create(string baseUrl, HttpClient client)
    {
        if (Uri.TryCreate(baseUrl, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps))
            return new HttpZooSource(client, uri);
        string? folder = uri is { IsFile: true } ? uri.LocalPath : Directory.Exists(baseUrl) ? Path.GetFullPath(baseUrl) : null;
        if (folder is not null && Directory.Exists(folder)) return new FolderZooSource(folder);
        throw new ZooException(ZooErrorKind.InvalidBaseUrl,
            $"The zoo base URL '{baseUrl}' is neither an http(s):// URL, a file:// URL of an existing folder, nor an existing folder. Pass e.g. " +
            $"{ZooClientOptions.DefaultBaseUrl}, file:///srv/zoo or a folder that holds manifest.json (option --base-url, or ${ZooClientOptions.BaseUrlEnvironmentVariable}).");
    }
}
