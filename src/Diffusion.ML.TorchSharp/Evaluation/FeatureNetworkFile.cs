using System.Text.Json;
using Diffusion.ML.TorchSharp.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Diffusion.ML.TorchSharp.Evaluation;

/// <summary>
/// A trained feature network in one ZIP file: <c>manifest.json</c> (<see cref="FeatureNetworkManifest"/>) and the
/// TorchSharp state of the network (<see cref="WeightsEntry"/>, fp32) with its SHA-256 in the manifest; written
/// atomically like a <see cref="Checkpoint"/>, and verified on load.
/// </summary>
public sealed class FeatureNetworkFile
{
    /// <summary>Entry holding the network's weights and BatchNorm statistics.</summary>
    public const string WeightsEntry = "weights.bin";

    private readonly byte[] _weights;

    private FeatureNetworkFile(string path, FeatureNetworkManifest manifest, byte[] weights)
    {
        Path = path;
        Manifest = manifest;
        _weights = weights;
    }

    /// <summary>Where the file was read from.</summary>
    public string Path { get; }

    /// <summary>The verified manifest.</summary>
    public FeatureNetworkManifest Manifest { get; }

    /// <summary>
    /// Writes <paramref name="network"/> atomically; the architecture fields of <paramref name="manifest"/> (model kind
    /// and config, input shape, feature dimension, class count, hashes) are taken from the network.
    /// </summary>
    /// <param name="path">File to write (replaced if present).</param>
    /// <param name="network">The trained network.</param>
    /// <param name="manifest">Identifier, class names, measured accuracy and training record.</param>
    /// <exception cref="ArgumentException">The class names do not match the network's class count.</exception>
    public static void Save(string path, FeatureClassifier network, FeatureNetworkManifest manifest)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(manifest);
        ArgumentException.ThrowIfNullOrWhiteSpace(manifest.Id, nameof(manifest));
        if (manifest.ClassNames is { } names && names.Count != network.ClassCount)
            throw new ArgumentException($"{names.Count} class names were given for a network with {network.ClassCount} classes.", nameof(manifest));
        var complete = manifest with
        {
            Kind = FeatureNetworkManifest.FileKind,
            FormatVersion = FeatureNetworkManifest.CurrentFormatVersion,
            ModelKind = network.Kind,
            ModelConfig = network.ConfigJson,
            InputShape = network.InputShape.Select(d => (int)d).ToArray(),
            FeatureDimension = network.FeatureDimension,
            ClassCount = network.ClassCount,
        };
        byte[] weights = HashedZip.Serialize(w => network.save(w));
        HashedZip.Write(path, hashes => JsonSerializer.SerializeToUtf8Bytes(complete with { EntryHashes = hashes }, Checkpoint.JsonOptions),
            new Dictionary<string, byte[]> { [WeightsEntry] = weights });
    }

    /// <summary>Reads and verifies a feature-network file.</summary>
    /// <exception cref="FileNotFoundException">No file at <paramref name="path"/>.</exception>
    /// <exception cref="InvalidDataException">The file is not a feature-network file (e.g. a diffusion checkpoint), is
    /// truncated, damaged or tampered with (an entry does not match its SHA-256), or has a newer format version.</exception>
    public static FeatureNetworkFile Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"Feature-network file '{path}' does not exist.", path);
        Exception Corrupt(string why, Exception? inner) => new InvalidDataException(
            $"'{path}' is not a valid Diffusion.ML feature-network file: {why}. The file is truncated, damaged or was modified; restore or retrain it.", inner);

        var entries = HashedZip.ReadEntries(path, Corrupt);
        FeatureNetworkManifest? manifest;
        try
        {
            using (var document = JsonDocument.Parse(entries[HashedZip.ManifestEntry]))
            {
                var root = document.RootElement;
                string? kind = root.ValueKind == JsonValueKind.Object && root.TryGetProperty(nameof(FeatureNetworkManifest.Kind), out var k) ? k.GetString() : null;
                if (kind != FeatureNetworkManifest.FileKind)
                {
                    string what = kind is not null ? $"its manifest says kind '{kind}'"
                        : root.ValueKind == JsonValueKind.Object && root.TryGetProperty("ModelKind", out var mk) ? $"it looks like a diffusion checkpoint (model kind '{mk}')"
                        : "its manifest has no kind";
                    throw new InvalidDataException(
                        $"'{path}' is not a feature-network file: {what}. Pass a file written by 'diffusion-ml train-classifier' (e.g. zoo/fashion-mnist-features/model.zip).");
                }
            }
            manifest = JsonSerializer.Deserialize<FeatureNetworkManifest>(entries[HashedZip.ManifestEntry], Checkpoint.JsonOptions);
        }
        catch (JsonException e)
        {
            throw Corrupt($"its manifest is not valid JSON ({e.Message})", e);
        }
        if (manifest is null) throw Corrupt("its manifest is empty", null);
        if (manifest.FormatVersion > FeatureNetworkManifest.CurrentFormatVersion)
            throw new InvalidDataException($"Feature-network file '{path}' has format version {manifest.FormatVersion}; this library reads up to {FeatureNetworkManifest.CurrentFormatVersion}. Update Diffusion.ML.");
        if (!manifest.EntryHashes.ContainsKey(WeightsEntry)) throw Corrupt($"its manifest lists no {WeightsEntry}", null);
        HashedZip.VerifyHashes(entries, manifest.EntryHashes, Corrupt);
        return new FeatureNetworkFile(path, manifest, entries[WeightsEntry]);
    }

    /// <summary>Builds the stored network, loads its weights and puts it in eval mode.</summary>
    /// <param name="device">Device to put the network on (default CPU).</param>
    /// <exception cref="InvalidDataException">The manifest's architecture is unknown or does not match the weights.</exception>
    public FeatureClassifier CreateNetwork(Device? device = null)
    {
        TorchSharpRuntime.EnsureLoaded();
        if (!string.Equals(Manifest.ModelKind, FeatureClassifier.KindName, StringComparison.OrdinalIgnoreCase))
            throw new InvalidDataException($"Feature-network file '{Path}' holds a '{Manifest.ModelKind}' network; this library builds '{FeatureClassifier.KindName}'. Update Diffusion.ML.");
        FeatureClassifier network;
        try
        {
            network = new FeatureClassifier(FeatureClassifierOptions.FromJson(Manifest.ModelConfig));
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"Feature-network file '{Path}' has an invalid network configuration: {e.Message}", e);
        }
        if (network.FeatureDimension != Manifest.FeatureDimension || network.ClassCount != Manifest.ClassCount
            || !network.InputShape.Select(d => (int)d).SequenceEqual(Manifest.InputShape))
        {
            network.Dispose();
            throw new InvalidDataException($"Feature-network file '{Path}': the manifest's shapes do not match its network configuration.");
        }
        try
        {
            using var reader = new BinaryReader(new MemoryStream(_weights));
            network.load(reader);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or EndOfStreamException or IOException)
        {
            network.Dispose();
            throw new InvalidDataException($"Feature-network file '{Path}': the weights do not fit the stored architecture ({e.Message}).", e);
        }
        if (device is not null) network.to(device);
        network.eval();
        return network;
    }
}
