using Diffusion.ML.Onnx;
using Diffusion.ML.Sampling;
using Diffusion.ML.Schedules;
using Diffusion.ML.TorchSharp.Modules;
using Diffusion.ML.TorchSharp.Training;
using TorchSharp;

namespace Diffusion.ML.TorchSharp.Onnx;

/// <summary>What to write besides the network when exporting a denoiser to ONNX.</summary>
public sealed record DenoiserOnnxExportOptions
{
    /// <summary>Opset of the default domain: 17 (default; GroupNorm decomposed into InstanceNormalization) to 21 (native
    /// GroupNormalization).</summary>
    public int Opset { get; init; } = OnnxGraphBuilder.DefaultOpset;

    /// <summary>What the network predicts. Default <see cref="PredictionType.Epsilon"/>.</summary>
    public PredictionType PredictionType { get; init; } = PredictionType.Epsilon;

    /// <summary>The noise schedule the network was trained with; null leaves it out of the metadata. Default null.</summary>
    public NoiseScheduleOptions? NoiseSchedule { get; init; }

    /// <summary>Class names of a class-conditional network, or null.</summary>
    public IReadOnlyList<string>? ClassNames { get; init; }

    /// <summary>Which weights are exported ("ema" or "raw"), recorded in the metadata; null leaves it out.</summary>
    public string? Weights { get; init; }

    /// <summary>
    /// Generator exports (<see cref="GeneratorOnnxExporter"/>): whether each step clips its x_0 estimate to [-1, 1], as the
    /// samplers' <c>ClipSample</c>. True for pixels; false for latents, which are not bounded. Default true.
    /// </summary>
    public bool ClipSample { get; init; } = true;

    /// <summary>A latent denoiser's latent scale (<see cref="DiffusionModelMetadata.LatentScale"/>); null for a model of images.</summary>
    public double? LatentScale { get; init; }

    /// <summary>A latent denoiser's decoder file name (<see cref="DiffusionModelMetadata.LatentDecoder"/>); null for a model of images.</summary>
    public string? LatentDecoder { get; init; }
}

/// <summary>
/// Exports Diffusion.ML denoiser networks to self-contained ONNX files: each module writes its own nodes
/// (<see cref="IOnnxExportableDenoiser"/>, <see cref="IOnnxExportable"/>), the trained parameters become initializers, and
/// <see cref="DiffusionModelMetadata"/> makes the file self-describing. Inputs: "x" float <c>[batch, ...]</c>, "t" float
/// <c>[batch]</c>, "class_labels" int64 <c>[batch]</c> (conditional networks only); output "out".
/// </summary>
public static class DenoiserOnnxExporter
{
    /// <summary>Exports a network with its current parameters.</summary>
    /// <param name="network">The network (any device; parameters are copied to the CPU).</param>
    /// <param name="options">Opset and metadata; null for the defaults.</param>
    /// <returns>The ONNX model; <see cref="OnnxModel.Save"/> writes it.</returns>
    /// <exception cref="NotSupportedException">The network kind has no ONNX export.</exception>
    public static OnnxModel Export(DenoiserNetwork network, DenoiserOnnxExportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(network);
        options ??= new DenoiserOnnxExportOptions();
        if (network is not IOnnxExportableDenoiser exportable)
            throw new NotSupportedException($"Networks of kind '{network.Kind}' ({network.GetType().Name}) cannot be exported to ONNX yet.");
        if (options.ClassNames is { } names && names.Count != network.ClassCount)
            throw new ArgumentException($"{names.Count} class names were given for a network with {network.ClassCount} classes.", nameof(options));

        var graph = new OnnxGraphBuilder(options.Opset, network.Kind);
        var context = new OnnxExportContext(graph);
        const string batch = DiffusionModelMetadata.BatchDimension;
        var x = graph.AddInput(DiffusionModelMetadata.SampleInputName, OnnxElementType.Float, [batch, .. exportable.OnnxInputDims]);
        var t = graph.AddInput(DiffusionModelMetadata.TimestepInputName, OnnxElementType.Float, batch);
        OnnxValue? labels = network.ClassCount > 0
            ? graph.AddInput(DiffusionModelMetadata.ClassInputName, OnnxElementType.Int64, batch)
            : null;
        OnnxValue output;
        using (torch.no_grad())
        {
            output = exportable.ExportOnnx(context, x, t, labels);
        }
        graph.AddOutput(output, DiffusionModelMetadata.OutputName, OnnxElementType.Float, [batch, .. exportable.OnnxOutputDims]);

        return graph.Build(MetadataOf(network, options).ToProperties(),
            $"Diffusion.ML {network.Kind} denoiser: out = model(x, t{(network.ClassCount > 0 ? ", class_labels" : "")}).");
    }

    /// <summary>The self-describing metadata of an export of <paramref name="network"/>.</summary>
    internal static DiffusionModelMetadata MetadataOf(DenoiserNetwork network, DenoiserOnnxExportOptions options) => new()
    {
        ModelKind = network.Kind,
        ModelConfig = network.ConfigJson,
        SampleShape = network.SampleShape.Select(d => (int)d).ToArray(),
        PredictionType = options.PredictionType,
        ClassCount = network.ClassCount,
        ClassNames = options.ClassNames,
        NoiseSchedule = options.NoiseSchedule,
        Weights = options.Weights,
        LatentScale = options.LatentScale,
        LatentDecoder = options.LatentDecoder,
    };

    /// <summary>Exports the network of a checkpoint with its prediction type, noise schedule and class names.</summary>
    /// <param name="checkpoint">A checkpoint written by training.</param>
    /// <param name="opset">Opset, 17 (default) to 21.</param>
    /// <param name="useEma">True (default) for the EMA weights, false for the last trained weights.</param>
    /// <returns>The ONNX model.</returns>
    /// <exception cref="NotSupportedException">The network kind has no ONNX export.</exception>
    /// <exception cref="ArgumentException">The checkpoint is a latent model: export it with <see cref="ExportLatent"/>.</exception>
    public static OnnxModel Export(Checkpoint checkpoint, int opset = OnnxGraphBuilder.DefaultOpset, bool useEma = true)
    {
        RequireImageModel(checkpoint, "ExportLatent, which also writes the decoder that turns its samples into images");
        using var network = checkpoint.LoadNetwork(useEma);
        return Export(network, OptionsOf(checkpoint, opset, useEma));
    }

    /// <summary>
    /// Exports a latent diffusion checkpoint (trained with an autoencoder, Rombach et al. 2022) as two files that belong
    /// together: the denoiser over latents, whose metadata names the decoder and the latent scale, and its autoencoder's
    /// decoder ("latents" to "images"), to be saved as <paramref name="decoderFileName"/> in the denoiser's folder.
    /// </summary>
    /// <param name="checkpoint">A latent diffusion checkpoint.</param>
    /// <param name="checkpointPath">Its file, against which its autoencoder reference resolves (the autoencoder is checked
    /// to be the one it was trained with).</param>
    /// <param name="decoderFileName">File name the decoder will be saved under, beside the denoiser.</param>
    /// <param name="opset">Opset, 17 (default) to 21.</param>
    /// <param name="useEma">True (default) for the EMA weights, false for the last trained weights.</param>
    /// <returns>The denoiser and the decoder.</returns>
    /// <exception cref="ArgumentException">The checkpoint is not a latent model, or the file name has a folder.</exception>
    public static (OnnxModel Denoiser, OnnxModel Decoder) ExportLatent(Checkpoint checkpoint, string checkpointPath, string decoderFileName,
        int opset = OnnxGraphBuilder.DefaultOpset, bool useEma = true)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        ArgumentException.ThrowIfNullOrEmpty(decoderFileName);
        var reference = checkpoint.Manifest.Trainer.LatentAutoencoder
            ?? throw new ArgumentException($"'{checkpointPath}' was trained on images, not latents; export it with Export.", nameof(checkpoint));
        if (Path.GetFileName(decoderFileName) != decoderFileName)
            throw new ArgumentException($"The decoder is saved beside the denoiser; give a file name without a folder, not '{decoderFileName}'.", nameof(decoderFileName));
        using var autoencoder = reference.Load(checkpointPath);
        var decoder = AutoencoderOnnxExporter.ExportAll(autoencoder, opset)["decoder"];
        using var network = checkpoint.LoadNetwork(useEma);
        var options = OptionsOf(checkpoint, opset, useEma) with { LatentScale = autoencoder.LatentScale, LatentDecoder = decoderFileName };
        return (Export(network, options), decoder);
    }

    /// <summary>Refuses a latent diffusion checkpoint, whose samples are latents: <paramref name="instead"/> says what to use.</summary>
    internal static void RequireImageModel(Checkpoint checkpoint, string instead)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        if (checkpoint.Manifest.Trainer.LatentAutoencoder is not null)
            throw new ArgumentException($"The checkpoint was trained on an autoencoder's latents, so its samples are latents, not images; use {instead}.", nameof(checkpoint));
    }

    /// <summary>The export options of a checkpoint: its prediction type, noise schedule and class names, and which weights.</summary>
    public static DenoiserOnnxExportOptions OptionsOf(Checkpoint checkpoint, int opset, bool useEma)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        return new DenoiserOnnxExportOptions
        {
            Opset = opset,
            PredictionType = checkpoint.Manifest.Trainer.PredictionType,
            NoiseSchedule = checkpoint.Manifest.Trainer.Schedule,
            ClassNames = checkpoint.Manifest.ClassNames,
            Weights = useEma ? "ema" : "raw",
        };
    }
}
