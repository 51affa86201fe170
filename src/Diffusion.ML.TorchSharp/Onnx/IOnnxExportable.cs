using Diffusion.ML.Onnx;

namespace Diffusion.ML.TorchSharp.Onnx;

/// <summary>
/// A module that writes its own inference forward pass (eval mode: dropout is the identity) into an ONNX graph, reading
/// its current parameters. For modules with one input, e.g. attention, up- and downsampling, the time embedding.
/// </summary>
public interface IOnnxExportable
{
    /// <summary>Adds the nodes computing <c>forward(x)</c> and returns their output.</summary>
    /// <param name="context">The graph being built, with layer helpers.</param>
    /// <param name="x">The module's input.</param>
    /// <returns>The value equal to the module's output.</returns>
    OnnxValue ExportOnnx(OnnxExportContext context, OnnxValue x);
}

/// <summary>Like <see cref="IOnnxExportable"/> for modules that also take the conditioning embedding (residual blocks).</summary>
public interface IOnnxConditionedExportable
{
    /// <summary>Adds the nodes computing <c>forward(x, embedding)</c> and returns their output.</summary>
    /// <param name="context">The graph being built, with layer helpers.</param>
    /// <param name="x">The feature map.</param>
    /// <param name="embedding">The conditioning embedding <c>[batch, E]</c>.</param>
    /// <returns>The value equal to the module's output.</returns>
    OnnxValue ExportOnnx(OnnxExportContext context, OnnxValue x, OnnxValue embedding);
}

/// <summary>
/// A denoiser network that can be exported whole by <see cref="DenoiserOnnxExporter"/>: it declares the dimensions of its
/// input and output after the batch, and writes <c>forward(x, t, classLabels)</c>.
/// </summary>
public interface IOnnxExportableDenoiser
{
    /// <summary>Dimensions of the input x after the batch (fixed sizes or symbols such as "height").</summary>
    IReadOnlyList<OnnxDim> OnnxInputDims { get; }

    /// <summary>Dimensions of the output after the batch.</summary>
    IReadOnlyList<OnnxDim> OnnxOutputDims { get; }

    /// <summary>Adds the nodes computing the prediction and returns it.</summary>
    /// <param name="context">The graph being built, with layer helpers.</param>
    /// <param name="x">Noisy samples, float <c>[batch, ...OnnxInputDims]</c>.</param>
    /// <param name="t">Timesteps, float <c>[batch]</c>.</param>
    /// <param name="classLabels">int64 labels <c>[batch]</c> for class-conditional networks, otherwise null.</param>
    /// <returns>The prediction, float <c>[batch, ...OnnxOutputDims]</c>.</returns>
    OnnxValue ExportOnnx(OnnxExportContext context, OnnxValue x, OnnxValue t, OnnxValue? classLabels);
}
