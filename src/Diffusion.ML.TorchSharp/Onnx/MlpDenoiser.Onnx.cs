using Diffusion.ML.Onnx;
using Diffusion.ML.TorchSharp.Onnx;

namespace Diffusion.ML.TorchSharp.Modules;

public sealed partial class MlpDenoiser : IOnnxExportableDenoiser
{
    /// <inheritdoc />
    public IReadOnlyList<OnnxDim> OnnxInputDims => [Options.InputDim];

    /// <inheritdoc />
    public IReadOnlyList<OnnxDim> OnnxOutputDims => [Options.InputDim];

    /// <inheritdoc />
    public OnnxValue ExportOnnx(OnnxExportContext context, OnnxValue x, OnnxValue t, OnnxValue? classLabels)
    {
        ArgumentNullException.ThrowIfNull(context);
        var embedding = ExportConditioning(context, timeEmbedding, classEmbedding, t, classLabels);
        var h = x;
        for (int i = 0; i < hidden.Count; i++)
        {
            using var _ = context.Scope($"{nameof(hidden)}.{i}");
            h = context.Silu(context.Graph.Add(context.Linear(hidden[i], h, "linear"), embedding));
        }
        return context.Linear(output, h, nameof(output));
    }
}
