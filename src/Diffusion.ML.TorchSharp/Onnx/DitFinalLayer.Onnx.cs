using Diffusion.ML.Onnx;
using Diffusion.ML.TorchSharp.Onnx;

namespace Diffusion.ML.TorchSharp.Modules;

public sealed partial class DitFinalLayer : IOnnxConditionedExportable
{
    /// <inheritdoc />
    /// <remarks>Tokens <c>[B, T, d]</c> and the conditioning <c>[B, d]</c> to patches <c>[B, T, p p C_out]</c>.</remarks>
    public OnnxValue ExportOnnx(OnnxExportContext context, OnnxValue x, OnnxValue embedding)
    {
        ArgumentNullException.ThrowIfNull(context);
        var m = DitBlock.ExportModulation(context, modulation, embedding, 2, nameof(modulation));
        var modulated = DitBlock.ExportModulate(context.Graph, context.LayerNorm(norm, x, nameof(norm)), m[0], m[1]);
        return context.LinearLastAxis(linear, modulated, nameof(linear));
    }
}
