using System.Text.Json;

namespace Diffusion.ML.Zoo;

/// <summary>One model of the zoo: a folder <c>&lt;id&gt;/</c> holding <see cref="Files"/>, described by the manifest.</summary>
/// <param name="Id">Folder name and the name users pull it by (lower-case letters, digits, '.', '_', '-').</param>
/// <param name="Version">Version of the weights; the cache keeps each version apart.</param>
/// <param name="Task">What it does, e.g. <c>class-conditional-image-generation</c> or <c>image-features</c>.</param>
/// <param name="Description">One sentence for listings.</param>
/// <param name="Architecture">The network and its configuration.</param>
/// <param name="Files">The files of the model folder, with size and SHA-256.</param>
/// <param name="License">Licence of the weights (SPDX id).</param>
/// <param name="TrainingData">The data it was trained on and that data's licence.</param>
/// <param name="Metrics">Measured quality, each with the command that measured it.</param>
/// <param name="Card">The model card inside the folder (e.g. <c>README.md</c>), if any.</param>
public sealed record ZooModel(
    string Id,
    string Version,
    string Task,
    string Description,
    ZooArchitecture Architecture,
    IReadOnlyList<ZooFile> Files,
    string License,
    string TrainingData,
    IReadOnlyList<ZooMetric> Metrics,
    string? Card = null)
{
    /// <summary>Total size of <see cref="Files"/> in bytes.</summary>
    public long TotalSize => Files.Sum(f => f.Size);

    /// <summary>The reference that names exactly these weights: <c>id@version</c> (what generation manifests record).</summary>
    public string Reference => $"{Id}{ZooManifest.VersionSeparator}{Version}";

    /// <summary>The first file whose <see cref="ZooFile.Format"/> is <paramref name="format"/> (see <see cref="ZooFileFormats"/>), or null.</summary>
    public ZooFile? FindFile(string format) => Files.FirstOrDefault(f => f.Format == format);
}

/// <summary>The <see cref="ZooFile.Format"/> values of the files Diffusion.ML reads and writes.</summary>
public static class ZooFileFormats
{
    /// <summary>A Diffusion.ML denoiser checkpoint (usually the sampling-only copy), read by TorchSharp.</summary>
    public const string Checkpoint = "diffusion-ml-checkpoint";

    /// <summary>An autoencoder checkpoint (VAE, VQ-VAE) written by <c>train-vae</c> / <c>train-vqvae</c>, read by TorchSharp.</summary>
    public const string Autoencoder = "diffusion-ml-autoencoder";

    /// <summary>A feature network written by <c>train-classifier</c>.</summary>
    public const string FeatureNetwork = "diffusion-ml-feature-network";

    /// <summary>An ONNX export of the network (<c>diffusion-ml export</c>), run by ONNX Runtime.</summary>
    public const string Onnx = "onnx";

    /// <summary>
    /// The ONNX decoder of a latent diffusion model's autoencoder, which the model's ONNX export names in its metadata
    /// and ONNX Runtime runs to turn the sampled latents into images.
    /// </summary>
    public const string LatentDecoderOnnx = "onnx-latent-decoder";

    /// <summary>The folder's <c>config.json</c>: the manifest's <see cref="ZooModel.Architecture"/> as its own file.</summary>
    public const string Config = "config";
}

/// <summary>The network of a zoo model.</summary>
/// <param name="Kind">Network family as the loaders name it (<c>unet</c>, <c>cnn-classifier</c>, ...).</param>
/// <param name="Config">Its configuration, the JSON the loaders read (the file's own model config), kept verbatim.</param>
/// <param name="Parameters">Number of trainable parameters, if recorded.</param>
/// <param name="InputShape">Shape of one input (channels, height, width), if recorded.</param>
/// <param name="PredictionType">What a denoiser predicts (<c>epsilon</c>, <c>v-prediction</c>, <c>sample</c>); null for other networks.</param>
/// <param name="Schedule">The noise schedule a denoiser was trained with; null for other networks.</param>
/// <param name="ClassNames">Names of the classes, index = label, if any.</param>
/// <param name="LatentShape">An autoencoder's latent shape (channels, height, width): the input shape of a denoiser trained on its latents; null for other networks.</param>
/// <param name="LatentScale">An autoencoder's latent scale factor (1 / std of its latents, Rombach et al. 2022, sec. 4.3.2), by which latent denoisers see the latents; for a latent denoiser (whose input shape is the latent shape), its autoencoder's; null for other networks.</param>
public sealed record ZooArchitecture(
    string Kind,
    JsonElement Config,
    long? Parameters = null,
    IReadOnlyList<int>? InputShape = null,
    string? PredictionType = null,
    JsonElement? Schedule = null,
    IReadOnlyList<string>? ClassNames = null,
    IReadOnlyList<int>? LatentShape = null,
    double? LatentScale = null);

/// <summary>One file of a zoo model folder.</summary>
/// <param name="Path">Path inside the model folder, '/'-separated, no '..'.</param>
/// <param name="Size">Size in bytes.</param>
/// <param name="Sha256">Lower-case hex SHA-256 of the bytes.</param>
/// <param name="Format">What reads it (e.g. <c>diffusion-ml-checkpoint</c>, <c>onnx</c>), if recorded.</param>
public sealed record ZooFile(string Path, long Size, string Sha256, string? Format = null);

/// <summary>A measured number and how to measure it again.</summary>
/// <param name="Name">Metric name: <c>fid</c>, <c>bits-per-dim</c>, <c>recon-mse</c>, <c>test-accuracy</c>, ...</param>
/// <param name="Value">The value.</param>
/// <param name="Command">The command (or commands, joined by <c>&amp;&amp;</c>) that measured it.</param>
/// <param name="Notes">Conditions that matter for comparing it (reference set, feature network, sample count).</param>
public sealed record ZooMetric(string Name, double Value, string Command, string? Notes = null);
