using Diffusion.ML.Onnx;
using Diffusion.ML.TorchSharp.Onnx;

namespace Diffusion.ML.TorchSharp.Modules;

public sealed partial class AttentionBlock : IOnnxExportable
{
    /// <inheritdoc />
    /// <remarks>
    /// Scaled dot-product attention written out: per head, <c>softmax(Q K^T / sqrt(d)) V</c> with Q, K, V taken from the
    /// 1x1 convolution <c>[B, 3C, H, W]</c> viewed as <c>[B, 3, heads, d, HW]</c>, exactly as <see cref="forward"/> splits it.
    /// </remarks>
    public OnnxValue ExportOnnx(OnnxExportContext context, OnnxValue x)
    {
        ArgumentNullException.ThrowIfNull(context);
        var graph = context.Graph;
        long channels = projection.out_channels;
        long headDim = channels / heads;
        var packed = context.Conv2d(qkv, context.GroupNorm(norm, x, nameof(norm)), nameof(qkv));
        OnnxValue merged;
        using (context.Scope("attention"))
        {
            var split = graph.Reshape(packed, 0, 3, heads, headDim, -1);                 // [B, 3, heads, d, HW]
            var q = graph.Transpose(graph.Gather(split, graph.Int64Scalar(0), axis: 1), 0, 1, 3, 2); // [B, heads, HW, d]
            var k = graph.Gather(split, graph.Int64Scalar(1), axis: 1);                  // [B, heads, d, HW]
            var v = graph.Transpose(graph.Gather(split, graph.Int64Scalar(2), axis: 1), 0, 1, 3, 2); // [B, heads, HW, d]
            var scores = graph.Mul(graph.MatMul(q, k), graph.FloatScalar((float)(1.0 / Math.Sqrt(headDim))));
            var attended = graph.MatMul(graph.Softmax(scores, -1), v);                  // [B, heads, HW, d]
            merged = graph.Reshape(graph.Transpose(attended, 0, 1, 3, 2), graph.Shape(x)); // [B, C, H, W]
        }
        return graph.Add(x, context.Conv2d(projection, merged, nameof(projection)));
    }
}
