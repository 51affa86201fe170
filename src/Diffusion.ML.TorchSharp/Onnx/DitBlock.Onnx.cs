using Diffusion.ML.Onnx;
using Diffusion.ML.TorchSharp.Onnx;
using TorchSharp.Modules;

namespace Diffusion.ML.TorchSharp.Modules;

public sealed partial class DitBlock : IOnnxConditionedExportable
{
    /// <inheritdoc />
    /// <remarks>Tokens <c>[B, T, d]</c> and the conditioning <c>[B, d]</c>; the six modulation vectors are split from
    /// <c>Linear(SiLU(c))</c> unsqueezed to <c>[B, 1, 6d]</c>, as in <see cref="forward"/>.</remarks>
    public OnnxValue ExportOnnx(OnnxExportContext context, OnnxValue x, OnnxValue embedding)
    {
        ArgumentNullException.ThrowIfNull(context);
        var graph = context.Graph;
        var m = ExportModulation(context, modulation, embedding, ModulationCount, nameof(modulation));
        OnnxValue attended;
        using (context.Scope(nameof(attention)))
        {
            attended = attention.ExportOnnx(context, ExportModulate(graph, context.LayerNorm(norm1, x, nameof(norm1)), m[0], m[1]));
        }
        var h = graph.Add(x, graph.Mul(m[2], attended));
        var hidden = context.LinearLastAxis(fc1, ExportModulate(graph, context.LayerNorm(norm2, h, nameof(norm2)), m[3], m[4]), nameof(fc1));
        var mlp = context.LinearLastAxis(fc2, graph.GeluTanh(hidden), nameof(fc2));
        return graph.Add(h, graph.Mul(m[5], mlp));
    }

    /// <summary>ONNX counterpart of the adaLN modulation vectors: <c>Linear(SiLU(c))</c> as <c>[B, 1, count d]</c>, split
    /// into <paramref name="count"/> vectors <c>[B, 1, d]</c>.</summary>
    internal static IReadOnlyList<OnnxValue> ExportModulation(OnnxExportContext context, Linear layer, OnnxValue embedding,
        int count, string scope)
    {
        var graph = context.Graph;
        var vectors = graph.Unsqueeze(context.Linear(layer, context.Silu(embedding), scope), 1);
        return graph.Split(vectors, 2, count);
    }

    /// <summary>ONNX counterpart of <see cref="Modulate"/>: <c>x (1 + scale) + shift</c>.</summary>
    internal static OnnxValue ExportModulate(OnnxGraphBuilder graph, OnnxValue x, OnnxValue shift, OnnxValue scale)
        => graph.Add(graph.Mul(x, graph.Add(scale, graph.FloatScalar(1f))), shift);
}
