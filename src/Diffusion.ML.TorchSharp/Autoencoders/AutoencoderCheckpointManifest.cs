using Diffusion.ML.TorchSharp.Training;

namespace Diffusion.ML.TorchSharp.Autoencoders;

/// <summary>
/// The JSON manifest at the head of an <see cref="AutoencoderCheckpoint"/>: the architecture, the trainer's options, the
/// step, the data's identity and the latent scale factors (of the trained and of the EMA weights). Every random choice of step k is a pure function of
/// (<see cref="AutoencoderTrainerOptions.Seed"/>, k), so <see cref="Step"/> and the seed are the whole RNG state.
/// </summary>
public sealed record AutoencoderCheckpointManifest
{
    /// <summary>The value of <see cref="FileKind"/> in every autoencoder checkpoint.</summary>
    public const string AutoencoderFileKind = "diffusion-ml-autoencoder";

    /// <summary>
    /// The newest format version this library reads and writes: 2 adds half-precision weights (<see cref="WeightPrecision"/>).
    /// Checkpoints with float32 weights are still written as version 1, which earlier versions of the library read.
    /// </summary>
    public const int CurrentFormatVersion = 2;

    /// <summary>The format version of a checkpoint whose weights have <paramref name="precision"/>.</summary>
    public static int FormatVersionFor(WeightPrecision precision) => precision == WeightPrecision.Float32 ? 1 : CurrentFormatVersion;

    /// <summary>Always <see cref="AutoencoderFileKind"/>: tells autoencoder checkpoints from diffusion checkpoints.</summary>
    public string FileKind { get; init; } = AutoencoderFileKind;

    /// <summary>Format version of the file (set from <see cref="WeightPrecision"/> when the checkpoint is written).</summary>
    public int FormatVersion { get; init; } = 1;

    /// <summary>
    /// Precision of the stored weights: float32, or float16 / bfloat16 for a compact sampling-only copy
    /// (<see cref="AutoencoderCheckpoint.SaveForInference"/>). Models load in float32 either way.
    /// </summary>
    public WeightPrecision WeightPrecision { get; init; } = WeightPrecision.Float32;

    /// <summary>Autoencoder kind ("vae", "vqvae", "classic"), see <see cref="ImageAutoencoder.Kind"/>.</summary>
    public required string ModelKind { get; init; }

    /// <summary>Options JSON, see <see cref="ImageAutoencoder.ConfigJson"/>.</summary>
    public required string ModelConfig { get; init; }

    /// <summary>The trainer's options.</summary>
    public required AutoencoderTrainerOptions Trainer { get; init; }

    /// <summary>Optimisation steps done.</summary>
    public required long Step { get; init; }

    /// <summary>Identity of the training data, checked on resume.</summary>
    public required DataFingerprint Data { get; init; }

    /// <summary>The latent scale factor of the trained weights (1 until computed), see <see cref="IImageAutoencoder.LatentScale"/>.</summary>
    public double LatentScale { get; init; } = 1.0;

    /// <summary>
    /// The EMA weights' own latent scale factor (1 / std of their latents, which differs from the trained weights'); null
    /// when the file has no EMA weights, or was written before this entry existed (then <see cref="LatentScale"/> stands in).
    /// </summary>
    public double? EmaLatentScale { get; init; }

    /// <summary>
    /// The latent scale of the trained weights, or of the EMA weights for <paramref name="useEma"/> (the trained weights'
    /// when the file predates <see cref="EmaLatentScale"/>).
    /// </summary>
    public double LatentScaleOf(bool useEma) => useEma ? EmaLatentScale ?? LatentScale : LatentScale;

    /// <summary>SHA-256 (hex) of each binary entry, checked on load.</summary>
    public required IReadOnlyDictionary<string, string> EntryHashes { get; init; }

    /// <summary>When the file was written (UTC).</summary>
    public DateTime CreatedUtc { get; init; } = DateTime.UtcNow;
}
