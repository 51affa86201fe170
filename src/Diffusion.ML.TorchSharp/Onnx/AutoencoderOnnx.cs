using Diffusion.ML.Onnx;
using Diffusion.ML.TorchSharp.Onnx;
using TorchSharp;
using static TorchSharp.torch;

namespace Diffusion.ML.TorchSharp.Autoencoders;

/// <summary>Graph-writing helpers shared by the autoencoder exports.</summary>
internal static class AutoencoderOnnx
{
    /// <summary>Writes a list of single-input blocks in order, each under its index in <paramref name="scope"/>.</summary>
    public static OnnxValue ExportBlocks(OnnxExportContext context, IEnumerable<nn.Module<Tensor, Tensor>> blocks, string scope, OnnxValue x)
    {
        var h = x;
        int i = 0;
        foreach (var block in blocks)
        {
            using var _ = context.Scope($"{scope}.{i++}");
            h = block is IOnnxExportable exportable
                ? exportable.ExportOnnx(context, h)
                : throw new NotSupportedException($"Block {block.GetType().Name} has no ONNX export.");
        }
        return h;
    }
}
