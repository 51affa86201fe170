using Diffusion.ML.Onnx;
using Diffusion.ML.TorchSharp.Onnx;

namespace Diffusion.ML.TorchSharp.Autoencoders;

public sealed partial class VariationalAutoencoder
{
    /// <summary>
    /// Writes <see cref="EncodeDistribution"/>: the encoder, its output split into mean (first half of the channels) and
    /// log-variance (second half, clamped to [<see cref="MinLogVariance"/>, <see cref="MaxLogVariance"/>] with Clip).
    /// </summary>
    /// <param name="context">The graph.</param>
    /// <param name="images">Images <c>[batch, C, H, W]</c>.</param>
    internal (OnnxValue Mean, OnnxValue LogVariance) ExportEncoder(OnnxExportContext context, OnnxValue images)
    {
        var graph = context.Graph;
        OnnxValue h;
        using (context.Scope(nameof(encoder))) h = encoder.ExportOnnx(context, images);
        long c = Options.LatentChannels;
        var mean = graph.Slice(h, [0], [c], [1]);
        var logVariance = graph.Node("Clip", [graph.Slice(h, [c], [2 * c], [1]), graph.FloatScalar((float)MinLogVariance), graph.FloatScalar((float)MaxLogVariance)]);
        return (mean, logVariance);
    }

    /// <summary>Writes <see cref="Decode"/>: the decoder, followed for a Bernoulli decoder by 2 sigmoid(logits) - 1.</summary>
    /// <param name="context">The graph.</param>
    /// <param name="latents">Latents <c>[batch, c, h, w]</c>.</param>
    internal OnnxValue ExportDecoder(OnnxExportContext context, OnnxValue latents)
    {
        var graph = context.Graph;
        OnnxValue output;
        using (context.Scope(nameof(decoder))) output = decoder.ExportOnnx(context, latents);
        if (Options.Likelihood == ReconstructionLikelihood.Bernoulli)
            output = graph.Sub(graph.Mul(graph.Sigmoid(output), graph.FloatScalar(2f)), graph.FloatScalar(1f));
        return output;
    }
}
