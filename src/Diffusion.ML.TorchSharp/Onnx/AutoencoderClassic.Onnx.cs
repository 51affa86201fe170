using Diffusion.ML.Onnx;
using Diffusion.ML.TorchSharp.Onnx;

namespace Diffusion.ML.TorchSharp.Autoencoders;

public sealed partial class ClassicAutoencoder
{
    /// <summary>
    /// Writes <see cref="Encode"/>: flatten, Gemm, then Sigmoid, or for k-sparse TopK and a ScatterElements of the k values
    /// into zeros (exactly k kept, as <see cref="AutoencoderMath.TopK"/>).
    /// </summary>
    /// <param name="context">The graph.</param>
    /// <param name="images">Images <c>[batch, C, H, W]</c>.</param>
    /// <returns>Hidden codes <c>[batch, units]</c>.</returns>
    internal OnnxValue ExportEncoder(OnnxExportContext context, OnnxValue images)
    {
        var graph = context.Graph;
        var pre = context.Linear(encoder, graph.Reshape(images, 0, -1), nameof(encoder));
        if (Options.Kind != ClassicAutoencoderKind.KSparse) return graph.Sigmoid(pre);
        var top = graph.Node("TopK", [pre, graph.Int64s(Options.K)], 2, OnnxAttribute.Int("axis", 1)); // values, indices
        var zeros = graph.Node("ConstantOfShape", [graph.Shape(pre)]);                                   // float 0
        return graph.Node("ScatterElements", [zeros, top[1], top[0]], OnnxAttribute.Int("axis", 1));
    }

    /// <summary>Writes <see cref="Decode"/>: Gemm, then Reshape to <c>[batch, C, H, W]</c>.</summary>
    /// <param name="context">The graph.</param>
    /// <param name="latents">Hidden codes <c>[batch, units]</c>.</param>
    internal OnnxValue ExportDecoder(OnnxExportContext context, OnnxValue latents)
        => context.Graph.Reshape(context.Linear(decoder, latents, nameof(decoder)), 0, Options.ImageChannels, Options.ImageHeight, Options.ImageWidth);
}
