using Diffusion.ML.Onnx;
using Diffusion.ML.TorchSharp.Onnx;

namespace Diffusion.ML.TorchSharp.Modules;

public sealed partial class DitAttention : IOnnxExportable
{
    /// <inheritdoc />
    /// <remarks>Tokens <c>[B, T, d]</c>: the packed qkv projection viewed as <c>[B, T, 3, heads, d_h]</c> and permuted to
    /// <c>[3, B, heads, T, d_h]</c> exactly as <see cref="forward"/> splits it, scaled dot-product attention per head,
    /// heads merged back to <c>[B, T, d]</c>, output projection.</remarks>
    public OnnxValue ExportOnnx(OnnxExportContext context, OnnxValue x)
    {
        ArgumentNullException.ThrowIfNull(context);
        var graph = context.Graph;
        long width = projection.in_features;
        long headDim = width / heads;
        var packed = context.LinearLastAxis(qkv, x, nameof(qkv));
        OnnxValue merged;
        using (context.Scope("attention"))
        {
            var split = graph.Transpose(graph.Reshape(packed, 0, 0, 3, heads, headDim), 2, 0, 3, 1, 4); // [3, B, heads, T, d_h]
            var q = graph.Gather(split, graph.Int64Scalar(0));
            var k = graph.Gather(split, graph.Int64Scalar(1));
            var v = graph.Gather(split, graph.Int64Scalar(2));
            var attended = graph.ScaledDotProductAttention(q, k, v, headDim);                     // [B, heads, T, d_h]
            merged = graph.Reshape(graph.Transpose(attended, 0, 2, 1, 3), 0, 0, width);            // [B, T, d]
        }
        return context.LinearLastAxis(projection, merged, nameof(projection));
    }
}
