using Diffusion.ML.Onnx;
using Diffusion.ML.TorchSharp.Onnx;

namespace Diffusion.ML.TorchSharp.Modules;

public sealed partial class Downsample : IOnnxExportable
{
    /// <inheritdoc />
    public OnnxValue ExportOnnx(OnnxExportContext context, OnnxValue x)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.Conv2d(conv, x, nameof(conv));
    }
}

public sealed partial class Upsample : IOnnxExportable
{
    /// <inheritdoc />
    public OnnxValue ExportOnnx(OnnxExportContext context, OnnxValue x)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.Conv2d(conv, context.Graph.ResizeNearest(x, 1f, 1f, 2f, 2f), nameof(conv));
    }
}
