using Diffusion.ML.Onnx;
using Diffusion.ML.TorchSharp.Onnx;

namespace Diffusion.ML.TorchSharp.Modules;

public sealed partial class UNet : IOnnxExportableDenoiser
{
    /// <inheritdoc />
    /// <remarks>Height and width are dynamic ("height", "width"), as in <see cref="forward"/>: any size divisible by
    /// 2^(levels-1) works.</remarks>
    public IReadOnlyList<OnnxDim> OnnxInputDims => [Options.ImageChannels, "height", "width"];

    /// <inheritdoc />
    public IReadOnlyList<OnnxDim> OnnxOutputDims => [Options.OutputChannels, "height", "width"];

    /// <inheritdoc />
    public OnnxValue ExportOnnx(OnnxExportContext context, OnnxValue x, OnnxValue t, OnnxValue? classLabels)
    {
        ArgumentNullException.ThrowIfNull(context);
        var graph = context.Graph;
        var embedding = ExportConditioning(context, timeEmbedding, classEmbedding, t, classLabels);

        var h = context.Conv2d(inputConv, x, nameof(inputConv));
        var skips = new Stack<OnnxValue>();
        skips.Push(h);
        for (int i = 0; i < encoder.Count; i++)
        {
            using var _ = context.Scope($"{nameof(encoder)}.{i}");
            h = encoder[i].ExportOnnx(context, h, embedding);
            skips.Push(h);
        }
        using (context.Scope(nameof(middle)))
        {
            h = middle.ExportOnnx(context, h, embedding);
        }
        for (int i = 0; i < decoder.Count; i++)
        {
            using var _ = context.Scope($"{nameof(decoder)}.{i}");
            h = decoder[i].ExportOnnx(context, graph.Concat(1, h, skips.Pop()), embedding);
        }
        var normalised = context.Silu(context.GroupNorm(outputNorm, h, nameof(outputNorm)));
        return context.Conv2d(outputConv, normalised, nameof(outputConv));
    }
}
