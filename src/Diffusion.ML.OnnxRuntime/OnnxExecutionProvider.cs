namespace Diffusion.ML.OnnxRuntime;

/// <summary>
/// Where ONNX Runtime runs a model. The CPU is always available; CUDA needs the GPU build of this library
/// (<c>-p:OnnxRuntimeBackend=cuda</c>, which references Microsoft.ML.OnnxRuntime.Gpu; see docs/gpu.md).
/// </summary>
public enum OnnxExecutionProvider
{
    /// <summary>ONNX Runtime's CPU kernels (default).</summary>
    Cpu,

    /// <summary>NVIDIA GPUs through ONNX Runtime's CUDA execution provider (CPU kernels for the rest).</summary>
    Cuda,
}
