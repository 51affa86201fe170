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

    /// <summary>The format version this library writes.</summary>
    public const int CurrentFormatVersion = 1;

    /// <summary>Always <see cref="AutoencoderFileKind"/>: tells autoencoder checkpoints from diffusion checkpoints.</summary>
    public string FileKind { get; init; } = AutoencoderFileKind;

    /// <summary>Format version of the file.</summary>
    public int FormatVersion { get; init; } = CurrentFormatVersion;

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

    /// <summary>SHA-256 (hex) of each binary entry, checked on load.</summary>
    public required IReadOnlyDictionary<string, string> EntryHashes { get; init; }

    /// <summary>When the file was written (UTC).</summary>
    public DateTime CreatedUtc { get; init; } = DateTime.UtcNow;
}
