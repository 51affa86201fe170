using Diffusion.ML.Onnx;
using Diffusion.ML.TorchSharp.Onnx;

namespace Diffusion.ML.TorchSharp.Modules;

public sealed partial class ResidualBlock : IOnnxConditionedExportable
{
    /// <inheritdoc />
    /// <remarks>Dropout is the identity at inference and writes no node.</remarks>
    public OnnxValue ExportOnnx(OnnxExportContext context, OnnxValue x, OnnxValue embedding)
    {
        ArgumentNullException.ThrowIfNull(context);
        var graph = context.Graph;
        var h = context.Conv2d(conv1, context.Silu(context.GroupNorm(norm1, x, nameof(norm1))), nameof(conv1));
        var e = context.Linear(embeddingProjection, context.Silu(embedding), nameof(embeddingProjection));
        h = graph.Add(h, graph.Unsqueeze(e, 2, 3));
        h = context.Conv2d(conv2, context.Silu(context.GroupNorm(norm2, h, nameof(norm2))), nameof(conv2));
        var residual = skip is null ? x : context.Conv2d(skip, x, nameof(skip));
        return graph.Add(residual, h);
    }
}
