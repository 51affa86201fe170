using System.Text.RegularExpressions;

namespace Diffusion.ML.Zoo;

/// <summary>The rules a parsed <see cref="ZooManifest"/> must follow beyond its JSON shape.</summary>
internal static partial class ZooManifestRules
{
    [GeneratedRegex("^[a-z0-9][a-z0-9._-]*$")]
    private static partial Regex IdPattern();

    [GeneratedRegex("^[0-9a-f]{64}$")]
    private static partial Regex Sha256Pattern();

    /// <summary>Whether <paramref name="id"/> is a valid model id.</summary>
    public static bool IsId(string id) => IdPattern().IsMatch(id);

    /// <summary>Whether <paramref name="version"/> is a valid model version (not empty, no path).</summary>
    public static bool IsVersion(string version) => FindVersionProblem(version) is null;

    /// <summary>The first rule <paramref name="manifest"/> breaks, in words, or null if it follows them all.</summary>
    public static string? FindProblem(ZooManifest manifest)
    {
        if (manifest.FormatVersion != ZooManifest.CurrentFormatVersion)
            return $"formatVersion is {manifest.FormatVersion}, this version of Diffusion.ML reads {ZooManifest.CurrentFormatVersion} (update Diffusion.ML or use a matching manifest)";
        if (manifest.Models.Count == 0) return "it lists no models";
        var ids = new HashSet<string>();
        foreach (var model in manifest.Models)
        {
            if (!IdPattern().IsMatch(model.Id)) return $"model id '{model.Id}' must be lower-case letters, digits, '.', '_' or '-'";
            if (!ids.Add(model.Id)) return $"model id '{model.Id}' appears twice";
            string? problem = FindProblem(model);
            if (problem is not null) return $"model '{model.Id}': {problem}";
        }
        return null;
    }

    private static string? FindProblem(ZooModel model)
    {
        if (FindVersionProblem(model.Version) is { } versionProblem) return versionProblem;
        if (model.Files.Count == 0) return "it lists no files";
        var paths = new HashSet<string>();
        foreach (var file in model.Files)
        {
            string? problem = FindPathProblem(file.Path);
            if (problem is not null) return $"file '{file.Path}': {problem}";
            if (!paths.Add(file.Path)) return $"file '{file.Path}' appears twice";
            if (file.Size < 0) return $"file '{file.Path}': size {file.Size} is negative";
            if (!Sha256Pattern().IsMatch(file.Sha256)) return $"file '{file.Path}': sha256 '{file.Sha256}' is not 64 lower-case hex digits";
        }
        foreach (var metric in model.Metrics)
            if (string.IsNullOrWhiteSpace(metric.Command)) return $"metric '{metric.Name}' has no command that measured it";
        return model.Card is null ? null : FindPathProblem(model.Card) is { } cardProblem ? $"card '{model.Card}': {cardProblem}" : null;
    }

    private static string? FindVersionProblem(string version)
    {
        if (string.IsNullOrWhiteSpace(version)) return "version is empty";
        if (version.IndexOfAny(['/', '\\', ZooManifest.VersionSeparator]) >= 0 || version is "." or "..")
            return $"version '{version}' must not contain a path or '{ZooManifest.VersionSeparator}'";
        return null;
    }

    private static string? FindPathProblem(string path)
    {
        if (path.Length == 0) return "the path is empty";
        if (path.Contains('\\') || path.StartsWith('/') || Path.IsPathRooted(path)) return "the path must be relative and '/'-separated";
        if (path.Split('/').Any(part => part is "" or "." or "..")) return "the path must not contain empty, '.' or '..' parts";
        if (path.Split('/').Any(part => part.EndsWith(".part", StringComparison.Ordinal) || part == ZooCacheLayout.LockFileName))
            return "names ending in '.part' and the lock file's name are reserved for the cache";
        return null;
    }
}
