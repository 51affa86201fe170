using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Diffusion.ML.Jobs;

/// <summary>One line of a job's JSONL manifest: what one generated file is and how it was made.</summary>
public sealed record GenerationManifestEntry
{
    /// <summary>Global sample index.</summary>
    [JsonPropertyName("index")] public required long Index { get; init; }

    /// <summary>File name in the output folder.</summary>
    [JsonPropertyName("file")] public required string File { get; init; }

    /// <summary>The job's seed S; the sample's random stream is derived from (S, index).</summary>
    [JsonPropertyName("seed")] public required long Seed { get; init; }

    /// <summary>Class label, or null for an unconditional sample.</summary>
    [JsonPropertyName("class")] public int? Class { get; init; }

    /// <summary>Class name, where the model has names.</summary>
    [JsonPropertyName("class_name")] public string? ClassName { get; init; }

    /// <summary>Sampler name.</summary>
    [JsonPropertyName("sampler")] public required string Sampler { get; init; }

    /// <summary>Sampling steps.</summary>
    [JsonPropertyName("steps")] public required int Steps { get; init; }

    /// <summary>Classifier-free guidance scale.</summary>
    [JsonPropertyName("guidance")] public required double Guidance { get; init; }

    /// <summary>Model name: the zoo reference <c>id@version</c>, or the file name.</summary>
    [JsonPropertyName("model")] public required string Model { get; init; }

    /// <summary>SHA-256 of the model file.</summary>
    [JsonPropertyName("model_sha256")] public required string ModelSha256 { get; init; }
}

/// <summary>
/// A shard's JSONL manifest (one <see cref="GenerationManifestEntry"/> per line), appended after each file is in place.
/// A process killed mid-line leaves a partial last line; opening the manifest cuts it off, and the job writes the line
/// again for the finished file, so the manifest never holds a broken or duplicate line.
/// </summary>
public sealed class GenerationManifest
{
    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        TypeInfoResolver = new System.Text.Json.Serialization.Metadata.DefaultJsonTypeInfoResolver(),
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    private readonly HashSet<long> _indices;

    private GenerationManifest(string path, HashSet<long> indices)
    {
        Path = path;
        _indices = indices;
    }

    /// <summary>The JSONL file.</summary>
    public string Path { get; }

    /// <summary>Whether a line for sample <paramref name="index"/> is present.</summary>
    public bool Contains(long index) => _indices.Contains(index);

    /// <summary>Opens (or starts) a manifest, cutting off a partial last line.</summary>
    /// <exception cref="InvalidDataException">A complete line is not a manifest entry.</exception>
    public static GenerationManifest Open(string path)
    {
        var indices = new HashSet<long>();
        if (!System.IO.File.Exists(path)) return new GenerationManifest(path, indices);
        byte[] bytes = System.IO.File.ReadAllBytes(path);
        int complete = Array.LastIndexOf(bytes, (byte)'\n') + 1;
        if (complete < bytes.Length)
            using (var stream = new FileStream(path, FileMode.Open, FileAccess.Write)) stream.SetLength(complete); // drop the partial line of a killed run
        int lineNumber = 0;
        foreach (string line in Encoding.UTF8.GetString(bytes, 0, complete).Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            lineNumber++;
            GenerationManifestEntry? entry;
            try
            {
                entry = JsonSerializer.Deserialize<GenerationManifestEntry>(line, JsonOptions);
            }
            catch (JsonException e)
            {
                throw new InvalidDataException($"Line {lineNumber} of '{path}' is not a manifest entry ({e.Message}). Fix or delete the line; the images are unaffected.", e);
            }
            if (entry is not null) indices.Add(entry.Index);
        }
        return new GenerationManifest(path, indices);
    }

    /// <summary>Appends entries (one line each) and flushes them to disk.</summary>
    public void Append(IEnumerable<GenerationManifestEntry> entries)
    {
        var text = new StringBuilder();
        var added = new List<long>();
        foreach (var entry in entries)
        {
            text.Append(JsonSerializer.Serialize(entry, JsonOptions)).Append('\n');
            added.Add(entry.Index);
        }
        if (added.Count == 0) return;
        using (var stream = new FileStream(Path, FileMode.Append, FileAccess.Write, FileShare.Read))
        {
            stream.Write(Encoding.UTF8.GetBytes(text.ToString()));
            stream.Flush(flushToDisk: true);
        }
        _indices.UnionWith(added);
    }
}
