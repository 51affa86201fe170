using System.Diagnostics;
using Diffusion.ML.Data;
using Diffusion.ML.Sampling;
using Diffusion.ML.Schedules;
using Diffusion.ML.TorchSharp.Modules;
using Diffusion.ML.TorchSharp.Sampling;
using Diffusion.ML.TorchSharp.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Diffusion.ML.Cli.Benchmarks;

/// <summary>
/// The measurements of one <see cref="BenchmarkCase"/> in this process, on TorchSharp or ONNX Runtime: the reference UNet
/// on 28x28x1 images with 10 classes, random weights (speed does not depend on them) and random data.
/// </summary>
internal static class UNetBenchmarks
{
    public const int ImageSize = 28, Classes = 10;

    /// <summary>The benchmark network of a case (seeded, so both backends get the same weights).</summary>
    public static UNet CreateNetwork(BenchmarkCase benchmark)
    {
        manual_seed(0);
        return new UNet(new UNetOptions
        {
            BaseChannels = benchmark.BaseChannels,
            GroupNormGroups = Math.Min(32, benchmark.BaseChannels),
            AttentionResolutions = [.. benchmark.Attention],
            ClassCount = Classes,
        });
    }

    /// <summary>Images per second of <see cref="DdpmTrainer.TrainStep"/> (noise, forward, backward, AdamW, clipping, EMA).</summary>
    /// <remarks>Each step ends by reading the loss, so the clock also waits for a GPU.</remarks>
    public static double Train(UNet network, BenchmarkCase benchmark, Device device)
    {
        var data = RandomImages(benchmark.Batch * 4);
        using var trainer = new DdpmTrainer(network, data, new DdpmTrainerOptions { BatchSize = benchmark.Batch, WarmupSteps = 0, EmaDecay = 0.999 }, device);
        return Timed(benchmark, () => trainer.TrainStep()) * benchmark.Batch;
    }

    /// <summary>
    /// Network evaluations per second through <see cref="IDenoiser.Predict"/> on random inputs: what a sampler pays per
    /// step and image, input and output copies included (the same path on every backend).
    /// </summary>
    public static double Forward(IDenoiser denoiser, BenchmarkCase benchmark)
    {
        var call = RandomInputs.Predict(denoiser, benchmark.Batch, new Random(0));
        return Timed(benchmark, () => call.Run(denoiser)) * benchmark.Batch;
    }

    /// <summary>Images per second of DDIM (eta 0, leading spacing) with classifier-free guidance through the sampler core.</summary>
    public static double Ddim(IDenoiser denoiser, BenchmarkCase benchmark)
    {
        var pipeline = new DiffusionPipeline(denoiser, new NoiseSchedule(new NoiseScheduleOptions()));
        var sampler = Samplers.Create("ddim");
        var options = new GenerationOptions
        {
            Count = benchmark.Batch,
            BatchSize = benchmark.Batch,
            NumInferenceSteps = benchmark.SamplingSteps,
            ClassLabels = Enumerable.Range(0, Classes).ToArray(),
            GuidanceScale = benchmark.Guidance,
        };
        return Timed(benchmark, () => pipeline.Generate(sampler, options)) * benchmark.Batch;
    }

    /// <summary>GFLOP/s of a square fp32 matrix product in libtorch (on a GPU the clock waits for the last product).</summary>
    public static double Sgemm(BenchmarkCase benchmark, Device device)
    {
        using var a = randn(benchmark.Matrix, benchmark.Matrix, device: device);
        using var b = randn(benchmark.Matrix, benchmark.Matrix, device: device);
        bool gpu = device.type == DeviceType.CUDA;
        return Timed(benchmark, () => mm(a, b).Dispose(), gpu ? () => cuda.synchronize(device) : null) * 2.0 * Math.Pow(benchmark.Matrix, 3) / 1e9;
    }

    /// <summary>The TorchSharp denoiser of a network (eval mode, epsilon prediction) on <paramref name="device"/>.</summary>
    public static IDenoiser TorchSharpDenoiser(UNet network, Device device)
    {
        network.to(device);
        network.eval();
        return new TorchSharpDenoiser(network, PredictionType.Epsilon, device);
    }

    /// <summary>Uniform random images in [-1, 1] with cycled labels (training speed does not depend on the pixels).</summary>
    public static ImageDataset RandomImages(int count)
    {
        var pixels = RandomInputs.Uniform(new Random(0), count * ImageSize * ImageSize);
        return new ImageDataset(count, 1, ImageSize, ImageSize, pixels, Enumerable.Range(0, count).Select(i => i % Classes).ToArray(), Classes);
    }

    /// <summary>
    /// Runs <paramref name="step"/> <c>Warmup</c> times untimed, then <c>Steps</c> times; returns steps per second.
    /// <paramref name="wait"/> (a device synchronisation) runs before the clock starts and before it stops.
    /// </summary>
    private static double Timed(BenchmarkCase benchmark, Action step, Action? wait = null)
    {
        for (int i = 0; i < benchmark.Warmup; i++) step();
        wait?.Invoke();
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < benchmark.Steps; i++) step();
        wait?.Invoke();
        return benchmark.Steps / clock.Elapsed.TotalSeconds;
    }
}
