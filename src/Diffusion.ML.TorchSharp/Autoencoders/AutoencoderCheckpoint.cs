using System.Text.Json;
using Diffusion.ML.TorchSharp.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Diffusion.ML.TorchSharp.Autoencoders;

/// <summary>
/// An autoencoder training checkpoint: one ZIP (the checksummed container of <see cref="Checkpoint"/>) holding
/// <c>manifest.json</c> (<see cref="AutoencoderCheckpointManifest"/>), the weights and codebook state, the optimizer state
/// and, when training keeps one, the EMA weights; written atomically, verified on load.
/// </summary>
public sealed class AutoencoderCheckpoint
{
    /// <summary>Entry holding the trained weights and buffers.</summary>
    public const string ModelEntry = "model.bin";

    /// <summary>Entry holding the EMA weights (only when training keeps an EMA).</summary>
    public const string EmaEntry = "ema.bin";

    /// <summary>Entry holding the optimizer state.</summary>
    public const string OptimizerEntry = "optimizer.bin";

    private readonly Dictionary<string, byte[]> _entries;

    private AutoencoderCheckpoint(string path, AutoencoderCheckpointManifest manifest, Dictionary<string, byte[]> entries)
    {
        Path = path;
        Manifest = manifest;
        _entries = entries;
    }

    /// <summary>Where the checkpoint was read from.</summary>
    public string Path { get; }

    /// <summary>The verified manifest.</summary>
    public AutoencoderCheckpointManifest Manifest { get; }

    /// <summary>Whether the file holds EMA weights.</summary>
    public bool HasEma => _entries.ContainsKey(EmaEntry);

    /// <summary>Writes a checkpoint atomically.</summary>
    /// <param name="path">File to write (replaced if present).</param>
    /// <param name="manifest">The manifest (its hashes, and the EMA's latent scale, are filled in).</param>
    /// <param name="model">The trained autoencoder.</param>
    /// <param name="ema">The EMA autoencoder (its own <see cref="ImageAutoencoder.LatentScale"/> is stored too), or null.</param>
    /// <param name="optimizer">The optimizer.</param>
    public static void Save(string path, AutoencoderCheckpointManifest manifest, ImageAutoencoder model, ImageAutoencoder? ema, OptimizerHelper optimizer)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(optimizer);
        var entries = new Dictionary<string, byte[]>
        {
            [ModelEntry] = HashedZip.Serialize(w => model.save(w)),
            [OptimizerEntry] = HashedZip.Serialize(optimizer.save_state_dict),
        };
        if (ema is not null) entries[EmaEntry] = HashedZip.Serialize(w => ema.save(w));
        Write(path, manifest with { EmaLatentScale = ema?.LatentScale, WeightPrecision = WeightPrecision.Float32 }, entries);
    }

    /// <summary>
    /// Writes a sampling-only copy: the manifest and one set of weights (the trained ones, which <see cref="LoadModel"/>
    /// loads by default, or the EMA's) as its trained weights, with their own latent scale; the optimizer state and the
    /// other weights are dropped. It encodes and decodes like the weights it was made from and cannot resume training:
    /// what a model zoo ships.
    /// </summary>
    /// <param name="path">The file to write (atomically).</param>
    /// <param name="precision">Precision of the stored weights: float16 or bfloat16 halve the file. Each weight is rounded to
    /// the nearest value of that type; <see cref="LoadModel"/> widens them back to float32.</param>
    /// <param name="useEma">Keep the EMA weights (the file must have them) instead of the trained ones.</param>
    /// <exception cref="InvalidOperationException"><paramref name="useEma"/> is true and the file has no EMA weights.</exception>
    public void SaveForInference(string path, WeightPrecision precision = WeightPrecision.Float32, bool useEma = false)
    {
        if (useEma && !HasEma) throw new InvalidOperationException($"Checkpoint '{Path}' has no EMA weights (training kept no EMA); keep the trained weights.");
        byte[] weights = StateDictPrecision.Convert(_entries[useEma ? EmaEntry : ModelEntry], Manifest.WeightPrecision, precision);
        Write(path, Manifest with { LatentScale = Manifest.LatentScaleOf(useEma), EmaLatentScale = null, WeightPrecision = precision },
            new Dictionary<string, byte[]> { [ModelEntry] = weights });
    }

    private static void Write(string path, AutoencoderCheckpointManifest manifest, Dictionary<string, byte[]> entries)
        => HashedZip.Write(path, hashes => JsonSerializer.SerializeToUtf8Bytes(manifest with
        {
            FormatVersion = AutoencoderCheckpointManifest.FormatVersionFor(manifest.WeightPrecision), EntryHashes = hashes,
        }, Checkpoint.JsonOptions), entries);

    /// <summary>Reads and verifies an autoencoder checkpoint.</summary>
    /// <param name="path">The file.</param>
    /// <exception cref="FileNotFoundException">No file at <paramref name="path"/>.</exception>
    /// <exception cref="InvalidDataException">The file is not an autoencoder checkpoint (e.g. a diffusion checkpoint), is truncated or
    /// damaged (an entry does not match its SHA-256), or has a newer format version.</exception>
    public static AutoencoderCheckpoint Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"Autoencoder checkpoint '{path}' does not exist.", path);
        Exception Corrupt(string why, Exception? inner) => new InvalidDataException(
            $"'{path}' is not a valid Diffusion.ML autoencoder checkpoint: {why}. The file is truncated or damaged; use an earlier checkpoint or retrain.", inner);
        var entries = HashedZip.ReadEntries(path, Corrupt);
        AutoencoderCheckpointManifest? manifest;
        try
        {
            string? kind = FileKindOf(entries);
            if (kind != AutoencoderCheckpointManifest.AutoencoderFileKind)
                throw new InvalidDataException(
                    $"'{path}' is not an autoencoder checkpoint (its manifest says kind '{kind ?? "none"}'); pass a file written by AutoencoderTrainer or 'diffusion-ml train-vae/train-vqvae/train-autoencoder'.");
            manifest = JsonSerializer.Deserialize<AutoencoderCheckpointManifest>(entries[HashedZip.ManifestEntry], Checkpoint.JsonOptions);
        }
        catch (JsonException e)
        {
            throw Corrupt($"its manifest is not valid JSON ({e.Message})", e);
        }
        if (manifest is null) throw Corrupt("its manifest is empty", null);
        if (manifest.FormatVersion > AutoencoderCheckpointManifest.CurrentFormatVersion)
            throw new InvalidDataException($"Autoencoder checkpoint '{path}' has format version {manifest.FormatVersion}; this library reads up to {AutoencoderCheckpointManifest.CurrentFormatVersion}. Update Diffusion.ML.");
        if (!manifest.EntryHashes.ContainsKey(ModelEntry)) throw Corrupt($"its manifest lists no {ModelEntry}", null);
        HashedZip.VerifyHashes(entries, manifest.EntryHashes, Corrupt);
        return new AutoencoderCheckpoint(path, manifest, entries);
    }

    /// <summary>Whether <paramref name="path"/> is a readable checkpoint whose manifest says it is an autoencoder's (not a diffusion model's); not verified further.</summary>
    public static bool IsAutoencoderFile(string path)
    {
        try
        {
            return File.Exists(path) && FileKindOf(HashedZip.ReadEntries(path, (why, inner) => new InvalidDataException(why, inner))) == AutoencoderCheckpointManifest.AutoencoderFileKind;
        }
        catch (Exception e) when (e is InvalidDataException or JsonException or KeyNotFoundException)
        {
            return false;
        }
    }

    private static string? FileKindOf(IReadOnlyDictionary<string, byte[]> entries)
    {
        using var document = JsonDocument.Parse(entries[HashedZip.ManifestEntry]);
        var root = document.RootElement;
        return root.ValueKind == JsonValueKind.Object && root.TryGetProperty(nameof(AutoencoderCheckpointManifest.FileKind), out var k) ? k.GetString() : null;
    }

    /// <summary>Builds the stored autoencoder with its weights and their latent scale (the EMA's own for <paramref name="useEma"/>), in eval mode.</summary>
    /// <param name="useEma">True for the EMA weights (the file must have them), false (default) for the trained weights.</param>
    /// <param name="device">Device (default CPU).</param>
    /// <exception cref="InvalidDataException">The stored architecture is invalid or does not match the weights.</exception>
    public ImageAutoencoder LoadModel(bool useEma = false, Device? device = null)
    {
        TorchSharpRuntime.EnsureLoaded();
        if (useEma && !HasEma) throw new InvalidOperationException($"Checkpoint '{Path}' has no EMA weights (training kept no EMA); load it with useEma: false.");
        ImageAutoencoder model;
        try
        {
            model = ImageAutoencoder.Create(Manifest.ModelKind, Manifest.ModelConfig);
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"Autoencoder checkpoint '{Path}' has an invalid architecture: {e.Message}", e);
        }
        LoadInto(model, useEma ? EmaEntry : ModelEntry);
        // Checkpoints written before EmaLatentScale existed hold only the trained weights' scale; their EMA weights get
        // that one (about 1% off the EMA's own), as they always did.
        model.LatentScale = Manifest.LatentScaleOf(useEma);
        if (device is not null) model.to(device);
        model.eval();
        return model;
    }

    /// <summary>Loads one module entry into an autoencoder of the stored architecture.</summary>
    /// <param name="model">The autoencoder.</param>
    /// <param name="entry"><see cref="ModelEntry"/> or <see cref="EmaEntry"/>.</param>
    public void LoadInto(nn.Module model, string entry)
    {
        ArgumentNullException.ThrowIfNull(model);
        try
        {
            byte[] state = StateDictPrecision.Convert(_entries[entry], Manifest.WeightPrecision, WeightPrecision.Float32);
            using var reader = new BinaryReader(new MemoryStream(state));
            model.load(reader);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or EndOfStreamException or IOException)
        {
            throw new InvalidDataException($"Autoencoder checkpoint '{Path}': the weights in {entry} do not fit the stored architecture ({e.Message}).", e);
        }
    }

    /// <summary>Loads the optimizer state.</summary>
    /// <param name="optimizer">An optimizer over an autoencoder of the stored architecture.</param>
    public void LoadOptimizer(OptimizerHelper optimizer)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        if (!_entries.TryGetValue(OptimizerEntry, out var bytes))
            throw new InvalidDataException($"Autoencoder checkpoint '{Path}' has no optimizer state (a sampling-only copy) and cannot resume training; resume from the full checkpoint.");
        using var reader = new BinaryReader(new MemoryStream(bytes));
        optimizer.load_state_dict(reader);
    }
}
