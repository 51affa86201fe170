using System.Text.Json;
using System.Text.Json.Serialization;
using Diffusion.ML.Data;
using Diffusion.ML.Schedules;
using Diffusion.ML.TorchSharp.Modules;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Diffusion.ML.TorchSharp.Training;

/// <summary>
/// A training checkpoint: one ZIP file holding <c>manifest.json</c> (<see cref="CheckpointManifest"/>) and the TorchSharp
/// state of the model, its EMA and the optimizer, each with a SHA-256 in the manifest. Written atomically (temporary file
/// + rename), so an interrupted save never leaves a broken checkpoint behind.
/// </summary>
public sealed class Checkpoint
{
    /// <summary>Entry holding the trained weights.</summary>
    public const string ModelEntry = "model.bin";

    /// <summary>Entry holding the EMA weights.</summary>
    public const string EmaEntry = "ema.bin";

    /// <summary>Entry holding the optimizer state.</summary>
    public const string OptimizerEntry = "optimizer.bin";

    private const string ManifestEntry = HashedZip.ManifestEntry;

    /// <summary>JSON settings for manifests: indented, enums as names (the resolver is explicit for the same reason as in ConfigSerialization).</summary>
    public static JsonSerializerOptions JsonOptions { get; } = new()
    {
        TypeInfoResolver = new System.Text.Json.Serialization.Metadata.DefaultJsonTypeInfoResolver(),
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter() },
    };

    private readonly Dictionary<string, byte[]> _entries;

    private Checkpoint(string path, CheckpointManifest manifest, Dictionary<string, byte[]> entries)
    {
        Path = path;
        Manifest = manifest;
        _entries = entries;
    }

    /// <summary>Where the checkpoint was read from.</summary>
    public string Path { get; }

    /// <summary>The manifest.</summary>
    public CheckpointManifest Manifest { get; }

    /// <summary>The noise schedule the model was trained with.</summary>
    public NoiseSchedule CreateSchedule() => new(Manifest.Trainer.Schedule);

    /// <summary>Whether the checkpoint holds what resuming training needs (the trained weights and the optimizer state).</summary>
    public bool CanResume => _entries.ContainsKey(ModelEntry) && _entries.ContainsKey(OptimizerEntry);

    /// <summary>Whether the file holds the last trained weights (<c>LoadNetwork(useEma: false)</c>); a sampling-only copy holds the EMA weights alone.</summary>
    public bool HasTrainedWeights => _entries.ContainsKey(ModelEntry);

    /// <summary>Writes a checkpoint atomically (float32 weights, whatever <paramref name="manifest"/> says).</summary>
    public static void Save(string path, CheckpointManifest manifest, DenoiserNetwork model, DenoiserNetwork ema, OptimizerHelper optimizer)
        => Write(path, manifest with { WeightPrecision = WeightPrecision.Float32 }, new Dictionary<string, byte[]>
        {
            [ModelEntry] = Serialize(w => model.save(w)),
            [EmaEntry] = Serialize(w => ema.save(w)),
            [OptimizerEntry] = Serialize(optimizer.save_state_dict),
        });

    /// <summary>
    /// Writes a sampling-only copy that keeps the manifest and the EMA weights and drops the trained weights and the
    /// optimizer state (about a quarter of the size): what a model zoo ships. It cannot resume training.
    /// </summary>
    /// <param name="path">The file to write (atomically).</param>
    /// <param name="precision">Precision of the stored weights: float16 or bfloat16 halve the file again. Each weight is
    /// rounded to the nearest value of that type; <see cref="LoadNetwork"/> widens them back to float32.</param>
    /// <param name="latentAutoencoder">For a latent-diffusion model, a copy of its autoencoder to refer to instead of the
    /// one it was trained with (<see cref="Autoencoders.LatentAutoencoderReference.Repin"/>, which checks that it is one);
    /// null keeps the reference.</param>
    public void SaveForInference(string path, WeightPrecision precision = WeightPrecision.Float32, string? latentAutoencoder = null)
    {
        var manifest = Manifest with { WeightPrecision = precision };
        if (latentAutoencoder is not null)
        {
            var reference = Manifest.Trainer.LatentAutoencoder
                ?? throw new ArgumentException($"'{Path}' is not a latent-diffusion model (it was not trained on an autoencoder's latents), so it has no autoencoder to replace.", nameof(latentAutoencoder));
            manifest = manifest with { Trainer = Manifest.Trainer with { LatentAutoencoder = reference.Repin(Path, latentAutoencoder, path) } };
        }
        byte[] ema = StateDictPrecision.Convert(_entries[EmaEntry], Manifest.WeightPrecision, precision);
        Write(path, manifest, new Dictionary<string, byte[]> { [EmaEntry] = ema });
    }

    private static void Write(string path, CheckpointManifest manifest, Dictionary<string, byte[]> entries)
        => HashedZip.Write(path, hashes => JsonSerializer.SerializeToUtf8Bytes(manifest with
        {
            FormatVersion = CheckpointManifest.FormatVersionFor(manifest.WeightPrecision), EntryHashes = hashes,
        }, JsonOptions), entries);

    /// <summary>Reads and verifies a checkpoint.</summary>
    /// <exception cref="FileNotFoundException">No file at <paramref name="path"/>.</exception>
    /// <exception cref="InvalidDataException">The file is not a checkpoint, is truncated or corrupt, or has an unknown format version.</exception>
    public static Checkpoint Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"Checkpoint '{path}' does not exist.", path);
        var entries = HashedZip.ReadEntries(path, (why, inner) => Corrupt(path, why, inner));
        CheckpointManifest? manifest;
        try
        {
            manifest = JsonSerializer.Deserialize<CheckpointManifest>(entries[ManifestEntry], JsonOptions);
        }
        catch (JsonException e)
        {
            throw Corrupt(path, e.Message, e);
        }
        if (manifest is null) throw Corrupt(path, "its manifest is empty");
        if (manifest.FormatVersion > CheckpointManifest.CurrentFormatVersion)
            throw new InvalidDataException($"Checkpoint '{path}' has format version {manifest.FormatVersion}; this library reads up to {CheckpointManifest.CurrentFormatVersion}. Update Diffusion.ML.");
        HashedZip.VerifyHashes(entries, manifest.EntryHashes, (why, inner) => Corrupt(path, why, inner));
        return new Checkpoint(path, manifest, entries);
    }

    /// <summary>Builds the network and loads the EMA weights (for sampling) or the raw trained weights.</summary>
    /// <param name="useEma">True for the EMA weights (default), false for the last trained weights.</param>
    /// <param name="device">Device to put the network on (default CPU).</param>
    public DenoiserNetwork LoadNetwork(bool useEma = true, Device? device = null)
    {
        if (!useEma && !HasTrainedWeights)
            throw new InvalidOperationException($"Checkpoint '{Path}' is a sampling-only copy with the EMA weights alone; load it with useEma: true.");
        var network = DenoiserNetwork.Create(Manifest.ModelKind, Manifest.ModelConfig);
        LoadInto(network, useEma ? EmaEntry : ModelEntry);
        if (device is not null) network.to(device);
        network.eval();
        return network;
    }

    /// <summary>Loads one module entry into an existing (float32) network of the stored architecture; half-precision weights are widened to float32.</summary>
    public void LoadInto(nn.Module network, string entry)
    {
        byte[] state = StateDictPrecision.Convert(_entries[entry], Manifest.WeightPrecision, WeightPrecision.Float32);
        using var reader = new BinaryReader(new MemoryStream(state));
        network.load(reader);
    }

    /// <summary>Loads the optimizer state into an optimizer over a network of the stored architecture.</summary>
    public void LoadOptimizer(OptimizerHelper optimizer)
    {
        if (!CanResume)
            throw new InvalidOperationException($"Checkpoint '{Path}' is a sampling-only copy (no trained weights or optimizer state) and cannot resume training; resume from the full checkpoint.");
        using var reader = new BinaryReader(new MemoryStream(_entries[OptimizerEntry]));
        optimizer.load_state_dict(reader);
    }

    private static byte[] Serialize(Action<BinaryWriter> write) => HashedZip.Serialize(write);

    private static InvalidDataException Corrupt(string path, string why, Exception? inner = null)
        => new($"Checkpoint '{path}' is not a valid Diffusion.ML checkpoint: {why}. The file is truncated or damaged; use an earlier checkpoint or retrain.", inner);
}
