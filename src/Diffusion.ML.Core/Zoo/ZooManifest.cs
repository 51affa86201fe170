using System.Text.Json;
using System.Text.Json.Serialization;

namespace Diffusion.ML.Zoo;

/// <summary>
/// The zoo's <c>manifest.json</c>: every model with its files (size, SHA-256), licence, training data and metrics.
/// It sits at the root of the zoo layout, beside one folder per model, on a hub, a static HTTP server or a folder.
/// </summary>
/// <param name="FormatVersion">Format of this file; this library reads <see cref="CurrentFormatVersion"/>.</param>
/// <param name="Models">The models.</param>
/// <param name="BaseUrl">Where the layout is published (the default download location), if recorded.</param>
public sealed record ZooManifest(int FormatVersion, IReadOnlyList<ZooModel> Models, string? BaseUrl = null)
{
    /// <summary>The manifest's file name at the root of the zoo layout.</summary>
    public const string FileName = "manifest.json";

    /// <summary>The format version this library reads and writes.</summary>
    public const int CurrentFormatVersion = 1;

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        PropertyNameCaseInsensitive = false,
        RespectNullableAnnotations = true,
        RespectRequiredConstructorParameters = true,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        WriteIndented = true,
    };

    /// <summary>
    /// Parses and checks a manifest. <paramref name="source"/> (a path or URL) names it in errors.
    /// </summary>
    /// <exception cref="ZooException">Kind <see cref="ZooErrorKind.CorruptManifest"/>: not JSON, a field missing or of the wrong
    /// type, an unknown field, or a rule broken (ids, paths, SHA-256 form, sizes, duplicates).</exception>
    public static ZooManifest Parse(string json, string source)
    {
        ZooManifest? manifest;
        try
        {
            manifest = JsonSerializer.Deserialize<ZooManifest>(json, JsonOptions);
        }
        catch (JsonException e)
        {
            throw Corrupt(source, e.Message, e);
        }
        if (manifest is null) throw Corrupt(source, "it is the JSON literal null", null);
        string? problem = ZooManifestRules.FindProblem(manifest);
        if (problem is not null) throw Corrupt(source, problem, null);
        return manifest;
    }

    /// <summary>Reads and checks the manifest at <paramref name="path"/>.</summary>
    /// <exception cref="FileNotFoundException">There is no file at <paramref name="path"/>.</exception>
    /// <exception cref="ZooException">The manifest is corrupt (see <see cref="Parse"/>).</exception>
    public static ZooManifest Load(string path) => Parse(File.ReadAllText(path), path);

    /// <summary>The manifest as indented JSON, in the form <see cref="Parse"/> reads.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);

    /// <summary>Separates a model's id from a pinned version in a reference (<c>id@version</c>).</summary>
    public const char VersionSeparator = '@';

    /// <summary>
    /// The model named by <paramref name="reference"/>: an id, or <c>id@version</c> to insist on one version of the weights.
    /// </summary>
    /// <exception cref="ZooException">Kind <see cref="ZooErrorKind.UnknownModel"/>: no such id (the message names the ids that
    /// exist), or the manifest holds another version than the one pinned.</exception>
    public ZooModel Find(string reference)
    {
        ArgumentNullException.ThrowIfNull(reference);
        int at = reference.IndexOf(VersionSeparator);
        string id = at < 0 ? reference : reference[..at];
        var model = Models.FirstOrDefault(m => m.Id == id)
            ?? throw new ZooException(ZooErrorKind.UnknownModel,
                $"There is no model '{id}' in the zoo. Known models: {string.Join(", ", Models.Select(m => m.Id))} ('diffusion-ml zoo list' shows them).");
        if (at >= 0 && reference[(at + 1)..] != model.Version)
            throw new ZooException(ZooErrorKind.UnknownModel,
                $"Model '{id}' is at version {model.Version} in this zoo, not {reference[(at + 1)..]}. Ask for '{id}' or '{model.Reference}', " +
                "or point --base-url at a zoo that still serves the version you pinned.");
        return model;
    }

    /// <summary>
    /// Whether <paramref name="text"/> has the form of a model reference (an id of lower-case letters, digits, '.', '_', '-',
    /// optionally followed by <c>@version</c>); it says nothing about whether a zoo holds that model.
    /// </summary>
    public static bool IsReference(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        int at = text.IndexOf(VersionSeparator);
        string id = at < 0 ? text : text[..at];
        return ZooManifestRules.IsId(id) && (at < 0 || ZooManifestRules.IsVersion(text[(at + 1)..]));
    }

    private static ZooException Corrupt(string source, string what, Exception? inner) => new(ZooErrorKind.CorruptManifest,
        $"The zoo manifest '{source}' is not valid: {what.TrimEnd('.')}. Fix or replace the file (docs/zoo.md describes the format); " +
        "a cached copy can be deleted, the next online command fetches it again.", inner);
}
