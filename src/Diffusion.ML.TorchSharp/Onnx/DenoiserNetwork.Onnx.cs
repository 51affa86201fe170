using Diffusion.ML.Onnx;
using Diffusion.ML.TorchSharp.Onnx;
using TorchSharp.Modules;

namespace Diffusion.ML.TorchSharp.Modules;

public abstract partial class DenoiserNetwork
{
    /// <summary>
    /// ONNX counterpart of <see cref="ConditioningEmbedding"/>: the time embedding of <paramref name="t"/>, plus the class
    /// embedding of <paramref name="classLabels"/> for class-conditional networks.
    /// </summary>
    private protected static OnnxValue ExportConditioning(OnnxExportContext context, TimestepEmbedding time, Embedding? classes,
        OnnxValue t, OnnxValue? classLabels)
    {
        OnnxValue embedding;
        using (context.Scope("timeEmbedding"))
        {
            embedding = time.ExportOnnx(context, t);
        }
        if (classes is null || classLabels is not { } labels) return embedding;
        return context.Graph.Add(embedding, context.Embedding(classes, labels, "classEmbedding"));
    }
}
