using Diffusion.ML.Onnx;
using Diffusion.ML.TorchSharp.Onnx;

namespace Diffusion.ML.TorchSharp.Modules;

public sealed partial class Dit : IOnnxExportableDenoiser
{
    /// <inheritdoc />
    /// <remarks>Height and width are fixed: the position embedding has one row per patch of the configured size.</remarks>
    public IReadOnlyList<OnnxDim> OnnxInputDims => [Options.ImageChannels, Options.ImageHeight, Options.ImageWidth];

    /// <inheritdoc />
    public IReadOnlyList<OnnxDim> OnnxOutputDims => [Options.OutputChannels, Options.ImageHeight, Options.ImageWidth];

    /// <inheritdoc />
    public OnnxValue ExportOnnx(OnnxExportContext context, OnnxValue x, OnnxValue t, OnnxValue? classLabels)
    {
        ArgumentNullException.ThrowIfNull(context);
        var graph = context.Graph;
        var o = Options;
        var c = ExportConditioning(context, timeEmbedding, classEmbedding, t, classLabels);
        OnnxValue h;
        using (context.Scope(nameof(patchEmbedding)))
        {
            h = patchEmbedding.ExportOnnx(context, x);
        }
        h = graph.Add(h, context.Parameter(nameof(positionEmbedding), positionEmbedding));
        for (int i = 0; i < blocks.Count; i++)
        {
            using var _ = context.Scope($"{nameof(blocks)}.{i}");
            h = blocks[i].ExportOnnx(context, h, c);
        }
        using (context.Scope(nameof(finalLayer)))
        {
            h = finalLayer.ExportOnnx(context, h, c);
        }
        using (context.Scope("unpatchify"))
        {
            // As Unpatchify: [B, T, p p C] -> [B, rows, columns, p, p, C] -> [B, C, rows, p, columns, p] -> [B, C, H, W].
            var grid = graph.Reshape(h, 0, o.GridHeight, o.GridWidth, o.PatchSize, o.PatchSize, o.OutputChannels);
            return graph.Reshape(graph.Transpose(grid, 0, 5, 1, 3, 2, 4), 0, o.OutputChannels, o.ImageHeight, o.ImageWidth);
        }
    }
}
