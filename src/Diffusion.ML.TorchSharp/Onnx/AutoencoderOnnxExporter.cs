using System.Text.Json;
using Diffusion.ML.Onnx;
using Diffusion.ML.TorchSharp.Autoencoders;
using TorchSharp;

namespace Diffusion.ML.TorchSharp.Onnx;

/// <summary>
/// Exports the parts of the autoencoders to ONNX, each its own file with a dynamic batch: the VAE encoder
/// ("images" -&gt; "mean", "logvar") and decoder ("latents" -&gt; "images"); the VQ-VAE encoder ("images" -&gt; "latents", z_e),
/// quantizer ("latents" -&gt; "indices" int64, "quantized") and decoder ("latents" -&gt; "images"); a classic autoencoder's
/// encoder ("images" -&gt; "latents" [batch, units]) and decoder. The metadata is
/// <see cref="DiffusionModelMetadata"/> (model kind e.g. "vae-encoder", the options JSON, the input shape as the sample
/// shape) plus <see cref="LatentScaleKey"/>, <see cref="ImageShapeKey"/> and <see cref="LatentShapeKey"/>.
/// </summary>
public static class AutoencoderOnnxExporter
{
    /// <summary>Metadata key of the latent scale factor (invariant-culture number), the one latent denoisers use too.</summary>
    public const string LatentScaleKey = DiffusionModelMetadata.LatentScaleKey;

    /// <summary>Metadata key of the image shape <c>[C, H, W]</c> (JSON array).</summary>
    public const string ImageShapeKey = DiffusionModelMetadata.ImageShapeKey;

    /// <summary>Metadata key of the latent shape (JSON array).</summary>
    public const string LatentShapeKey = DiffusionModelMetadata.KeyPrefix + "latent_shape";

    /// <summary>Name of an image input or output.</summary>
    public const string ImagesName = "images";

    /// <summary>Name of a latent input or output.</summary>
    public const string LatentsName = "latents";

    /// <summary>VAE: the posterior mean output.</summary>
    public const string MeanName = "mean";

    /// <summary>VAE: the posterior log-variance output.</summary>
    public const string LogVarianceName = "logvar";

    /// <summary>VQ-VAE quantizer: the int64 code indices output.</summary>
    public const string IndicesName = "indices";

    /// <summary>VQ-VAE quantizer: the looked-up codes output.</summary>
    public const string QuantizedName = "quantized";

    private const string Batch = DiffusionModelMetadata.BatchDimension;

    /// <summary>The VAE encoder: "images" <c>[batch, C, H, W]</c> to "mean" and "logvar" <c>[batch, c, h, w]</c>.</summary>
    /// <param name="vae">The VAE.</param>
    /// <param name="opset">Opset, 17 (default) to 21.</param>
    public static OnnxModel ExportVaeEncoder(VariationalAutoencoder vae, int opset = OnnxGraphBuilder.DefaultOpset)
    {
        ArgumentNullException.ThrowIfNull(vae);
        var (graph, context, images) = Start(opset, "vae-encoder", ImagesName, vae.ImageShape);
        using (torch.no_grad())
        {
            var (mean, logVariance) = vae.ExportEncoder(context, images);
            graph.AddOutput(mean, MeanName, OnnxElementType.Float, Dims(vae.LatentShape));
            graph.AddOutput(logVariance, LogVarianceName, OnnxElementType.Float, Dims(vae.LatentShape));
        }
        return Finish(graph, vae, "vae-encoder", vae.ImageShape, "VAE encoder: (mean, logvar) = q(z | images).");
    }

    /// <summary>The VAE decoder: "latents" <c>[batch, c, h, w]</c> (unscaled) to "images" <c>[batch, C, H, W]</c>, the mean of p(x | z).</summary>
    /// <param name="vae">The VAE.</param>
    /// <param name="opset">Opset, 17 (default) to 21.</param>
    public static OnnxModel ExportVaeDecoder(VariationalAutoencoder vae, int opset = OnnxGraphBuilder.DefaultOpset)
    {
        ArgumentNullException.ThrowIfNull(vae);
        var (graph, context, latents) = Start(opset, "vae-decoder", LatentsName, vae.LatentShape);
        using (torch.no_grad())
            graph.AddOutput(vae.ExportDecoder(context, latents), ImagesName, OnnxElementType.Float, Dims(vae.ImageShape));
        return Finish(graph, vae, "vae-decoder", vae.LatentShape, "VAE decoder: images = mean of p(x | latents); divide diffusion latents by the latent scale first.");
    }

    /// <summary>The VQ-VAE encoder: "images" to "latents" z_e <c>[batch, D, h, w]</c> (before quantisation).</summary>
    /// <param name="vqvae">The VQ-VAE.</param>
    /// <param name="opset">Opset, 17 (default) to 21.</param>
    public static OnnxModel ExportVqVaeEncoder(VqVae vqvae, int opset = OnnxGraphBuilder.DefaultOpset)
    {
        ArgumentNullException.ThrowIfNull(vqvae);
        var (graph, context, images) = Start(opset, "vqvae-encoder", ImagesName, vqvae.ImageShape);
        using (torch.no_grad())
            graph.AddOutput(vqvae.ExportEncoder(context, images), LatentsName, OnnxElementType.Float, Dims(vqvae.LatentShape));
        return Finish(graph, vqvae, "vqvae-encoder", vqvae.ImageShape, "VQ-VAE encoder: latents = z_e(images).");
    }

    /// <summary>The VQ-VAE quantizer: "latents" z_e to "indices" int64 <c>[batch, h, w]</c> and "quantized" <c>[batch, D, h, w]</c>.</summary>
    /// <param name="vqvae">The VQ-VAE.</param>
    /// <param name="opset">Opset, 17 (default) to 21.</param>
    public static OnnxModel ExportVqVaeQuantizer(VqVae vqvae, int opset = OnnxGraphBuilder.DefaultOpset)
    {
        ArgumentNullException.ThrowIfNull(vqvae);
        var (graph, context, latents) = Start(opset, "vqvae-quantizer", LatentsName, vqvae.LatentShape);
        using (torch.no_grad())
        {
            var (indices, quantized) = vqvae.ExportQuantizer(context, latents);
            long[] grid = vqvae.LatentShape[1..];
            graph.AddOutput(indices, IndicesName, OnnxElementType.Int64, Dims(grid));
            graph.AddOutput(quantized, QuantizedName, OnnxElementType.Float, Dims(vqvae.LatentShape));
        }
        return Finish(graph, vqvae, "vqvae-quantizer", vqvae.LatentShape, "VQ-VAE quantizer: indices = argmin_i ||latents - e_i||^2, quantized = e[indices].");
    }

    /// <summary>The VQ-VAE decoder: "latents" (codes) <c>[batch, D, h, w]</c> to "images".</summary>
    /// <param name="vqvae">The VQ-VAE.</param>
    /// <param name="opset">Opset, 17 (default) to 21.</param>
    public static OnnxModel ExportVqVaeDecoder(VqVae vqvae, int opset = OnnxGraphBuilder.DefaultOpset)
    {
        ArgumentNullException.ThrowIfNull(vqvae);
        var (graph, context, latents) = Start(opset, "vqvae-decoder", LatentsName, vqvae.LatentShape);
        using (torch.no_grad())
            graph.AddOutput(vqvae.ExportDecoder(context, latents), ImagesName, OnnxElementType.Float, Dims(vqvae.ImageShape));
        return Finish(graph, vqvae, "vqvae-decoder", vqvae.LatentShape, "VQ-VAE decoder: images = D(latents).");
    }

    /// <summary>A classic autoencoder's encoder: "images" <c>[batch, C, H, W]</c> to "latents" <c>[batch, units]</c>.</summary>
    /// <param name="model">The autoencoder.</param>
    /// <param name="opset">Opset, 17 (default) to 21.</param>
    public static OnnxModel ExportClassicEncoder(ClassicAutoencoder model, int opset = OnnxGraphBuilder.DefaultOpset)
    {
        ArgumentNullException.ThrowIfNull(model);
        var (graph, context, images) = Start(opset, "classic-encoder", ImagesName, model.ImageShape);
        using (torch.no_grad())
            graph.AddOutput(model.ExportEncoder(context, images), LatentsName, OnnxElementType.Float, Dims(model.LatentShape));
        return Finish(graph, model, "classic-encoder", model.ImageShape, $"{model.Options.Kind} autoencoder encoder: latents = h(images).");
    }

    /// <summary>A classic autoencoder's decoder: "latents" <c>[batch, units]</c> to "images" <c>[batch, C, H, W]</c>.</summary>
    /// <param name="model">The autoencoder.</param>
    /// <param name="opset">Opset, 17 (default) to 21.</param>
    public static OnnxModel ExportClassicDecoder(ClassicAutoencoder model, int opset = OnnxGraphBuilder.DefaultOpset)
    {
        ArgumentNullException.ThrowIfNull(model);
        var (graph, context, latents) = Start(opset, "classic-decoder", LatentsName, model.LatentShape);
        using (torch.no_grad())
            graph.AddOutput(model.ExportDecoder(context, latents), ImagesName, OnnxElementType.Float, Dims(model.ImageShape));
        return Finish(graph, model, "classic-decoder", model.LatentShape, $"{model.Options.Kind} autoencoder decoder: images = W' latents + b'.");
    }

    /// <summary>
    /// Every part of an autoencoder by part name: "encoder" and "decoder", and for a VQ-VAE "quantizer"; the latent
    /// diffusion chain needs the encoder and decoder, a VQ prior the quantizer.
    /// </summary>
    /// <param name="model">A <see cref="VariationalAutoencoder"/>, <see cref="VqVae"/> or <see cref="ClassicAutoencoder"/>.</param>
    /// <param name="opset">Opset, 17 (default) to 21.</param>
    /// <exception cref="NotSupportedException">Another <see cref="ImageAutoencoder"/> subclass.</exception>
    public static IReadOnlyDictionary<string, OnnxModel> ExportAll(ImageAutoencoder model, int opset = OnnxGraphBuilder.DefaultOpset) => model switch
    {
        VariationalAutoencoder vae => new Dictionary<string, OnnxModel>
        {
            ["encoder"] = ExportVaeEncoder(vae, opset),
            ["decoder"] = ExportVaeDecoder(vae, opset),
        },
        VqVae vq => new Dictionary<string, OnnxModel>
        {
            ["encoder"] = ExportVqVaeEncoder(vq, opset),
            ["quantizer"] = ExportVqVaeQuantizer(vq, opset),
            ["decoder"] = ExportVqVaeDecoder(vq, opset),
        },
        ClassicAutoencoder classic => new Dictionary<string, OnnxModel>
        {
            ["encoder"] = ExportClassicEncoder(classic, opset),
            ["decoder"] = ExportClassicDecoder(classic, opset),
        },
        null => throw new ArgumentNullException(nameof(model)),
        _ => throw new NotSupportedException($"Autoencoders of type {model.GetType().Name} have no ONNX export."),
    };

    private static (OnnxGraphBuilder Graph, OnnxExportContext Context, OnnxValue Input) Start(int opset, string name, string input, long[] shape)
    {
        var graph = new OnnxGraphBuilder(opset, name);
        var value = graph.AddInput(input, OnnxElementType.Float, Dims(shape));
        return (graph, new OnnxExportContext(graph), value);
    }

    private static OnnxModel Finish(OnnxGraphBuilder graph, ImageAutoencoder model, string kind, long[] inputShape, string doc)
    {
        var metadata = new DiffusionModelMetadata
        {
            ModelKind = kind,
            ModelConfig = model.ConfigJson,
            SampleShape = inputShape.Select(d => (int)d).ToArray(),
            LatentScale = model.LatentScale,
        };
        var properties = new Dictionary<string, string>(metadata.ToProperties())
        {
            [ImageShapeKey] = JsonSerializer.Serialize(model.ImageShape),
            [LatentShapeKey] = JsonSerializer.Serialize(model.LatentShape),
        };
        return graph.Build(properties, $"Diffusion.ML {doc}");
    }

    private static OnnxDim[] Dims(long[] shape) => [Batch, .. shape.Select(d => (OnnxDim)d)];
}
