using Diffusion.ML.Onnx;
using Diffusion.ML.TorchSharp.Onnx;

namespace Diffusion.ML.TorchSharp.Modules;

public sealed partial class TimestepSequential : IOnnxConditionedExportable
{
    /// <inheritdoc />
    /// <exception cref="NotSupportedException">A block implements neither export interface.</exception>
    public OnnxValue ExportOnnx(OnnxExportContext context, OnnxValue x, OnnxValue embedding)
    {
        ArgumentNullException.ThrowIfNull(context);
        var h = x;
        for (int i = 0; i < blocks.Count; i++)
        {
            using var _ = context.Scope($"{i}");
            h = blocks[i] switch
            {
                IOnnxConditionedExportable conditioned => conditioned.ExportOnnx(context, h, embedding),
                IOnnxExportable plain => plain.ExportOnnx(context, h),
                var block => throw new NotSupportedException($"Block {block.GetType().Name} has no ONNX export."),
            };
        }
        return h;
    }
}
