using Diffusion.ML.Onnx;
using Diffusion.ML.TorchSharp.Onnx;

namespace Diffusion.ML.TorchSharp.Modules;

public sealed partial class PatchEmbedding : IOnnxExportable
{
    /// <inheritdoc />
    /// <remarks>Images <c>[B, C, H, W]</c> to tokens <c>[B, T, d]</c>: the stride-p convolution, then
    /// <c>Reshape [B, d, T] -&gt; Transpose [B, T, d]</c> as <see cref="forward"/>'s <c>flatten(2).transpose(1, 2)</c>.</remarks>
    public OnnxValue ExportOnnx(OnnxExportContext context, OnnxValue x)
    {
        ArgumentNullException.ThrowIfNull(context);
        var graph = context.Graph;
        var features = context.Conv2d(projection, x, nameof(projection));
        return graph.Transpose(graph.Reshape(features, 0, 0, -1), 0, 2, 1);
    }
}
