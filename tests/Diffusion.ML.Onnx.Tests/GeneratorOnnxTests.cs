using Diffusion.ML.Sampling;
using Diffusion.ML.Schedules;
using Diffusion.ML.TorchSharp.Modules;
using Diffusion.ML.TorchSharp.Onnx;
using Diffusion.ML.TorchSharp.Sampling;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using static Diffusion.ML.Onnx.Tests.OnnxTestModels;

namespace Diffusion.ML.Onnx.Tests;

/// <summary>The one-file generator: DDIM with guidance as an ONNX Loop equals the C# sampler on the same network and noise.</summary>
[TestClass]
public sealed class GeneratorOnnxTests
{
    private string _dir = "";

    public TestContext TestContext { get; set; } = null!;

    [TestInitialize]
    public void CreateFolder() => _dir = Directory.CreateTempSubdirectory("dml-onnx-generator").FullName;

    [TestCleanup]
    public void DeleteFolder() => Directory.Delete(_dir, recursive: true);

    /// <summary>x_T of samples 0..count-1 exactly as the C# pipeline draws them (one stream per (seed, index)).</summary>
    private static float[] StartingNoise(long seed, int count, int size)
    {
        var noise = new float[count * size];
        for (int b = 0; b < count; b++) new SampleNoise(seed, b).FillStandardNormal(noise.AsSpan(b * size, size));
        return noise;
    }

    private float[] RunGenerator(string path, float[] noise, int[] shape, long steps, long[]? labels, float guidance, GraphOptimizationLevel level)
    {
        using var options = new SessionOptions { GraphOptimizationLevel = level, IntraOpNumThreads = 1 };
        using var session = new InferenceSession(path, options);
        var inputs = new List<NamedOnnxValue>
        {
            NamedOnnxValue.CreateFromTensor(GeneratorOnnxExporter.NoiseInputName, new DenseTensor<float>(noise, shape)),
            NamedOnnxValue.CreateFromTensor(GeneratorOnnxExporter.StepsInputName, new DenseTensor<long>(new[] { steps }, [])),
        };
        if (labels is not null)
        {
            inputs.Add(NamedOnnxValue.CreateFromTensor("class_labels", new DenseTensor<long>(labels, [labels.Length])));
            inputs.Add(NamedOnnxValue.CreateFromTensor(GeneratorOnnxExporter.GuidanceInputName, new DenseTensor<float>(new[] { guidance }, [])));
        }
        using var results = session.Run(inputs, [GeneratorOnnxExporter.ImagesOutputName]);
        return results.First().AsTensor<float>().ToArray();
    }

    [TestMethod]
    [DataRow(1.0, GraphOptimizationLevel.ORT_DISABLE_ALL)]
    [DataRow(2.0, GraphOptimizationLevel.ORT_ENABLE_ALL)]
    public void GuidedDdimInOneGraphEqualsTheCSharpSampler(double guidance, GraphOptimizationLevel level)
    {
        using var net = SmoothUNet(AttentionConditional, 7);
        var schedule = new NoiseScheduleOptions();
        string path = Path.Combine(_dir, "generator.onnx");
        GeneratorOnnxExporter.Export(net, new DenoiserOnnxExportOptions { NoiseSchedule = schedule }).Save(path);

        int[] classes = [0, 2, 1, 0];
        var generation = new GenerationOptions { Count = 4, BatchSize = 4, NumInferenceSteps = 50, Seed = 11, ClassLabels = classes, GuidanceScale = guidance };
        float[] expected = new DiffusionPipeline(new TorchSharpDenoiser(net, PredictionType.Epsilon), new NoiseSchedule(schedule))
            .Generate(new DdimSampler(), generation);
        float[] actual = RunGenerator(path, StartingNoise(11, 4, 64), [4, 1, 8, 8], 50, classes.Select(c => (long)c).ToArray(), (float)guidance, level);

        double max = expected.Zip(actual, (a, b) => Math.Abs(a - b)).Max();
        TestContext.WriteLine($"50-step DDIM generator, guidance {guidance}: max |onnx loop - C#| = {max:E2}");
        Assert.IsGreaterThan(0.05, expected.Max(v => Math.Abs(v)), "non-trivial samples");
        Assert.IsLessThanOrEqualTo(guidance == 1.0 ? 1e-3 : 5e-3, max); // guidance amplifies float32 rounding, as in the denoiser parity test
    }

    [TestMethod]
    public void AnUnconditionalLearnedVarianceNetworkUsesItsPredictionOnly()
    {
        using var net = SmoothUNet(PlainUnconditional, 3); // 2 channels in, 4 out (learned variance)
        var schedule = new NoiseScheduleOptions();
        string path = Path.Combine(_dir, "plain.onnx");
        GeneratorOnnxExporter.Export(net, new DenoiserOnnxExportOptions { NoiseSchedule = schedule }).Save(path);
        var generation = new GenerationOptions { Count = 2, BatchSize = 2, NumInferenceSteps = 10, Seed = 4 };
        float[] expected = new DiffusionPipeline(new TorchSharpDenoiser(net, PredictionType.Epsilon), new NoiseSchedule(schedule))
            .Generate(new DdimSampler(), generation);
        float[] actual = RunGenerator(path, StartingNoise(4, 2, 128), [2, 2, 8, 8], 10, null, 1, GraphOptimizationLevel.ORT_ENABLE_ALL);
        Assert.IsLessThanOrEqualTo(1e-3, expected.Zip(actual, (a, b) => Math.Abs(a - b)).Max());
        Assert.ThrowsExactly<ArgumentException>(() => GeneratorOnnxExporter.Export(net, new DenoiserOnnxExportOptions()), "the schedule is required");
    }

    [TestMethod]
    [DataRow(20, 1.0)]
    [DataRow(8, 3.0)]
    public void GuidedDpmSolverPlusPlus2MInOneGraphEqualsTheCSharpSampler(int steps, double guidance)
    {
        using var net = SmoothUNet(AttentionConditional, 9);
        var schedule = new NoiseScheduleOptions();
        string path = Path.Combine(_dir, "dpm.onnx");
        GeneratorOnnxExporter.Export(net, new DenoiserOnnxExportOptions { NoiseSchedule = schedule }, OnnxGeneratorSampler.DpmSolverPlusPlus2M).Save(path);

        int[] classes = [1, 0, 2];
        var generation = new GenerationOptions { Count = 3, BatchSize = 3, NumInferenceSteps = steps, Seed = 21, ClassLabels = classes, GuidanceScale = guidance };
        float[] expected = new DiffusionPipeline(new TorchSharpDenoiser(net, PredictionType.Epsilon), new NoiseSchedule(schedule))
            .Generate(new DpmSolverPlusPlusSampler(order: 2), generation);
        float[] actual = RunGenerator(path, StartingNoise(21, 3, 64), [3, 1, 8, 8], steps, classes.Select(c => (long)c).ToArray(), (float)guidance,
            GraphOptimizationLevel.ORT_ENABLE_ALL);
        double max = expected.Zip(actual, (a, b) => Math.Abs(a - b)).Max();
        TestContext.WriteLine($"{steps}-step DPM-Solver++(2M) generator, guidance {guidance}: max |onnx loop - C#| = {max:E2}");
        Assert.IsGreaterThan(0.05, expected.Max(v => Math.Abs(v)), "non-trivial samples");
        Assert.IsLessThanOrEqualTo(guidance == 1.0 ? 1e-3 : 5e-3, max);
    }
}
