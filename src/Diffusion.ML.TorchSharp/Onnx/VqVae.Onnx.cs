using Diffusion.ML.Onnx;
using Diffusion.ML.TorchSharp.Onnx;

namespace Diffusion.ML.TorchSharp.Autoencoders;

public sealed partial class VqVae
{
    /// <summary>Writes <see cref="EncodeContinuous"/>: z_e <c>[batch, D, h, w]</c>.</summary>
    internal OnnxValue ExportEncoder(OnnxExportContext context, OnnxValue images)
    {
        using var _ = context.Scope(nameof(encoder));
        return encoder.ExportOnnx(context, images);
    }

    /// <summary>Writes the nearest-code quantisation of z_e: indices <c>[batch, h, w]</c> and the codes <c>[batch, D, h, w]</c>.</summary>
    internal (OnnxValue Indices, OnnxValue Quantized) ExportQuantizer(OnnxExportContext context, OnnxValue latents)
    {
        using var _ = context.Scope(nameof(quantizer));
        return quantizer.ExportOnnx(context, latents);
    }

    /// <summary>Writes <see cref="Decode"/>.</summary>
    internal OnnxValue ExportDecoder(OnnxExportContext context, OnnxValue latents)
    {
        using var _ = context.Scope(nameof(decoder));
        return decoder.ExportOnnx(context, latents);
    }
}

public sealed partial class VectorQuantizer
{
    /// <summary>
    /// Writes the nearest-code search of <see cref="NearestCodes"/> with the same arithmetic, distances
    /// ||z||^2 - 2 z e^T + ||e||^2 then ArgMin (first minimum, as torch), and the lookup: Gather of the codebook.
    /// </summary>
    /// <param name="context">The graph.</param>
    /// <param name="z">z_e <c>[batch, D, h, w]</c>.</param>
    /// <returns>int64 indices <c>[batch, h, w]</c> and float codes <c>[batch, D, h, w]</c>.</returns>
    internal (OnnxValue Indices, OnnxValue Quantized) ExportOnnx(OnnxExportContext context, OnnxValue z)
    {
        ArgumentNullException.ThrowIfNull(context);
        var graph = context.Graph;
        var e = context.Parameter("codebook", Codebook);                                  // [K, D]
        var channelsLast = graph.Transpose(z, 0, 2, 3, 1);                                // [B, h, w, D]
        var flat = graph.Reshape(channelsLast, -1, Options.CodeDimension);                // [N, D]
        var zz = graph.Node("ReduceSum", [graph.Mul(flat, flat), graph.Int64s(1)], OnnxAttribute.Int("keepdims", 1)); // [N, 1]
        var cross = graph.MatMul(flat, graph.Transpose(e, 1, 0));                         // [N, K]
        var ee = graph.Node("ReduceSum", [graph.Mul(e, e), graph.Int64s(1)], OnnxAttribute.Int("keepdims", 0));      // [K]
        var distances = graph.Add(graph.Sub(zz, graph.Mul(cross, graph.FloatScalar(2f))), graph.Unsqueeze(ee, 0));
        var nearest = graph.Node("ArgMin", [distances], OnnxAttribute.Int("axis", 1), OnnxAttribute.Int("keepdims", 0)); // [N]
        var gridShape = graph.Slice(graph.Shape(channelsLast), [0], [3], [0]);            // [B, h, w]
        var indices = graph.Reshape(nearest, gridShape);
        var quantized = graph.Transpose(graph.Gather(e, indices), 0, 3, 1, 2);            // [B, D, h, w]
        return (indices, quantized);
    }
}
