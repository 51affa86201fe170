using Diffusion.ML.Onnx;
using Diffusion.ML.TorchSharp.Onnx;

namespace Diffusion.ML.TorchSharp.Autoencoders;

public sealed partial class ConvResidualBlock : IOnnxExportable
{
    /// <inheritdoc />
    public OnnxValue ExportOnnx(OnnxExportContext context, OnnxValue x)
    {
        ArgumentNullException.ThrowIfNull(context);
        var h = context.Conv2d(conv1, context.Silu(context.GroupNorm(norm1, x, nameof(norm1))), nameof(conv1));
        h = context.Conv2d(conv2, context.Silu(context.GroupNorm(norm2, h, nameof(norm2))), nameof(conv2));
        var residual = skip is null ? x : context.Conv2d(skip, x, nameof(skip));
        return context.Graph.Add(residual, h);
    }
}

public sealed partial class ConvEncoder : IOnnxExportable
{
    /// <inheritdoc />
    /// <exception cref="NotSupportedException">A block has no ONNX export.</exception>
    public OnnxValue ExportOnnx(OnnxExportContext context, OnnxValue x)
    {
        ArgumentNullException.ThrowIfNull(context);
        var h = context.Conv2d(inputConv, x, nameof(inputConv));
        h = AutoencoderOnnx.ExportBlocks(context, blocks, nameof(blocks), h);
        return context.Conv2d(outputConv, context.Silu(context.GroupNorm(outputNorm, h, nameof(outputNorm))), nameof(outputConv));
    }
}

public sealed partial class ConvDecoder : IOnnxExportable
{
    /// <inheritdoc />
    /// <exception cref="NotSupportedException">A block has no ONNX export.</exception>
    public OnnxValue ExportOnnx(OnnxExportContext context, OnnxValue x)
    {
        ArgumentNullException.ThrowIfNull(context);
        var h = context.Conv2d(inputConv, x, nameof(inputConv));
        h = AutoencoderOnnx.ExportBlocks(context, blocks, nameof(blocks), h);
        return context.Conv2d(outputConv, context.Silu(context.GroupNorm(outputNorm, h, nameof(outputNorm))), nameof(outputConv));
    }
}
