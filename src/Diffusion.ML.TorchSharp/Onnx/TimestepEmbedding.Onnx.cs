using Diffusion.ML.Onnx;
using Diffusion.ML.TorchSharp.Onnx;

namespace Diffusion.ML.TorchSharp.Modules;

public sealed partial class TimestepEmbedding : IOnnxExportable
{
    /// <inheritdoc />
    /// <remarks><paramref name="x"/> holds the timesteps, float <c>[batch]</c>; the output is <c>[batch, embeddingDim]</c>.</remarks>
    public OnnxValue ExportOnnx(OnnxExportContext context, OnnxValue x)
    {
        ArgumentNullException.ThrowIfNull(context);
        var graph = context.Graph;
        OnnxValue features;
        using (context.Scope("sinusoidal"))
        {
            using var frequencies = SinusoidalFrequencies(sinusoidalDim);
            using var row = frequencies.unsqueeze(0);
            var args = graph.Mul(graph.Unsqueeze(x, 1), context.Parameter("frequencies", row));
            features = graph.Concat(1, graph.Sin(args), graph.Cos(args));
        }
        var hidden = context.Silu(context.Linear(linear1, features, nameof(linear1)));
        return context.Linear(linear2, hidden, nameof(linear2));
    }
}
