using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Diffusion.ML.TorchSharp.Modules;

/// <summary>Shared System.Text.Json settings for the network option classes stored in checkpoints.</summary>
internal static class ConfigSerialization
{
    /// <summary>
    /// Compact camelCase JSON; unknown properties are ignored so older readers tolerate newer fields. The resolver is set
    /// explicitly so that it also works where reflection-based serialization is off by default (.NET 10 file-based apps);
    /// source generation is not used because it drops the initialiser defaults of init-only properties.
    /// </summary>
    internal static readonly JsonSerializerOptions Options = new()
    {
        TypeInfoResolver = new DefaultJsonTypeInfoResolver(),
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        PropertyNameCaseInsensitive = true,
        WriteIndented = false,
    };

    /// <summary>Serializes <paramref name="value"/> with <see cref="Options"/>.</summary>
    internal static string Serialize<T>(T value) => JsonSerializer.Serialize(value, Options);

    /// <summary>Deserializes JSON, turning malformed input into an <see cref="ArgumentException"/>.</summary>
    internal static T Deserialize<T>(string json, string paramName)
        where T : class
    {
        if (string.IsNullOrWhiteSpace(json))
        {
            throw new ArgumentException($"{typeof(T).Name} JSON must not be empty.", paramName);
        }
        try
        {
            return JsonSerializer.Deserialize<T>(json, Options)
                ?? throw new ArgumentException($"{typeof(T).Name} JSON must be an object, not null.", paramName);
        }
        catch (JsonException ex)
        {
            throw new ArgumentException($"Invalid {typeof(T).Name} JSON: {ex.Message}", paramName, ex);
        }
    }
}
