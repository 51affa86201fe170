using Diffusion.ML.OnnxRuntime;
using Diffusion.ML.Sampling;
using Diffusion.ML.TorchSharp.Modules;
using Diffusion.ML.TorchSharp.Onnx;

namespace Diffusion.ML.Cli.Benchmarks;

/// <summary>
/// The inference cases on ONNX Runtime: the benchmark UNet is exported (DenoiserOnnxExporter, opset 17) to a temporary
/// file and run through <see cref="OnnxRuntimeDenoiser"/>, i.e. the path a user's sampler takes, copies included.
/// </summary>
internal static class OnnxRuntimeBenchmarks
{
    /// <summary>The ONNX Runtime package version this program runs on.</summary>
    public static string Version { get; } =
        typeof(Microsoft.ML.OnnxRuntime.InferenceSession).Assembly.GetName().Version?.ToString(3) ?? "?";

    /// <summary>Exports <paramref name="network"/>, opens it on ONNX Runtime with the case's threads, runs <paramref name="measure"/>.</summary>
    public static double Run(UNet network, BenchmarkCase benchmark, Func<IDenoiser, double> measure)
    {
        network.eval();
        string path = Path.Combine(Path.GetTempPath(), $"diffusion-ml-bench-{Environment.ProcessId}.onnx");
        try
        {
            DenoiserOnnxExporter.Export(network).Save(path);
            using var model = OnnxRuntimeDenoiser.Load(path, benchmark.Threads);
            return measure(model.Denoiser);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
