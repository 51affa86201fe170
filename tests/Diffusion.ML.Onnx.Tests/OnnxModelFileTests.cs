using Diffusion.ML.OnnxRuntime;
using Diffusion.ML.Sampling;
using Diffusion.ML.Schedules;
using Diffusion.ML.TorchSharp.Modules;
using Diffusion.ML.TorchSharp.Onnx;
using Diffusion.ML.TorchSharp.Sampling;
using static Diffusion.ML.Onnx.Tests.OnnxTestModels;

namespace Diffusion.ML.Onnx.Tests;

/// <summary>What an exported file contains, loading it by its metadata, sampling on it, and broken files.</summary>
[TestClass]
public sealed class OnnxModelFileTests
{
    private string _dir = "";

    public TestContext TestContext { get; set; } = null!;

    [TestInitialize]
    public void CreateFolder() => _dir = Directory.CreateTempSubdirectory("dml-onnx-file").FullName;

    [TestCleanup]
    public void DeleteFolder() => Directory.Delete(_dir, recursive: true);

    private static readonly NoiseScheduleOptions Cosine = new() { NumTrainTimesteps = 500, BetaSchedule = BetaSchedule.Cosine, RescaleZeroTerminalSnr = true };

    [TestMethod]
    public void MetadataRoundTripsThroughTheFileAndOnnxRuntime()
    {
        using var net = Randomize(new UNet(AttentionConditional), 5);
        string path = Path.Combine(_dir, "unet.onnx");
        var options = new DenoiserOnnxExportOptions
        {
            PredictionType = PredictionType.VPrediction, NoiseSchedule = Cosine, ClassNames = ["cat", "dog", "bird"], Weights = "ema",
        };
        DenoiserOnnxExporter.Export(net, options).Save(path);

        var file = OnnxModel.Load(path);
        Assert.AreEqual(17, file.Opset);
        Assert.AreEqual(8L, file.IrVersion);
        Assert.AreEqual(OnnxModel.Producer, file.ProducerName);
        CollectionAssert.AreEqual(new[] { "x", "t", "class_labels" }, file.InputNames.ToArray());
        CollectionAssert.AreEqual(new[] { "out" }, file.OutputNames.ToArray());
        CollectionAssert.AreEqual(new[] { "batch", "1", "height", "width" }, file.InputShape("x").ToArray());
        CollectionAssert.AreEqual(new[] { "batch" }, file.InputShape("t").ToArray());
        long stored = file.InitializerSizes.Where(p => !p.Key.StartsWith("const_") && !p.Key.EndsWith(".frequencies")).Sum(p => p.Value);
        Assert.AreEqual(net.ParameterCount, stored, "every parameter is stored once");

        var metadata = DiffusionModelMetadata.FromProperties(file.Metadata, path);
        Assert.AreEqual("unet", metadata.ModelKind);
        Assert.AreEqual(net.ConfigJson, metadata.ModelConfig);
        CollectionAssert.AreEqual(new[] { 1, 8, 8 }, metadata.SampleShape.ToArray());
        Assert.AreEqual(PredictionType.VPrediction, metadata.PredictionType);
        Assert.AreEqual(3, metadata.ClassCount);
        CollectionAssert.AreEqual(new[] { "cat", "dog", "bird" }, metadata.ClassNames!.ToArray());
        Assert.AreEqual(Cosine, metadata.NoiseSchedule);
        Assert.AreEqual((-1f, 1f), (metadata.PixelMinimum, metadata.PixelMaximum));
        Assert.AreEqual("ema", metadata.Weights);
        StringAssert.StartsWith(metadata.Exporter, "Diffusion.ML ");
        Assert.AreEqual("[-1,1]", file.Metadata[DiffusionModelMetadata.PixelRangeKey]);
        Assert.AreEqual("[1,8,8]", file.Metadata[DiffusionModelMetadata.SampleShapeKey]);

        using var loaded = OnnxRuntimeDenoiser.Load(path);
        CollectionAssert.AreEqual(new[] { 1, 8, 8 }, loaded.Denoiser.SampleShape.ToArray());
        Assert.AreEqual(PredictionType.VPrediction, loaded.Denoiser.PredictionType);
        Assert.AreEqual(3, loaded.Denoiser.ClassCount);
        Assert.AreEqual(Cosine, loaded.ScheduleOptions);
        Assert.AreEqual(500, loaded.CreateSchedule().NumTrainTimesteps);
        Assert.AreEqual(metadata, loaded.Metadata with { ClassNames = metadata.ClassNames, SampleShape = metadata.SampleShape });
    }

    [TestMethod]
    public void OpsetPicksTheGroupNormEncoding()
    {
        using var net = Randomize(new UNet(PlainUnconditional), 6);
        var v17 = DenoiserOnnxExporter.Export(net).OperatorCounts;
        var v21 = DenoiserOnnxExporter.Export(net, new DenoiserOnnxExportOptions { Opset = 21 }).OperatorCounts;
        Assert.IsFalse(v17.ContainsKey("GroupNormalization"));
        Assert.IsGreaterThan(0, v17["InstanceNormalization"]);
        Assert.AreEqual(v17["InstanceNormalization"], v21["GroupNormalization"]);
        Assert.IsFalse(v21.ContainsKey("InstanceNormalization"));
        Assert.AreEqual(10L, DenoiserOnnxExporter.Export(net, new DenoiserOnnxExportOptions { Opset = 21 }).IrVersion);
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => DenoiserOnnxExporter.Export(net, new DenoiserOnnxExportOptions { Opset = 16 }));
        Assert.ThrowsExactly<ArgumentException>(() => DenoiserOnnxExporter.Export(net, new DenoiserOnnxExportOptions { ClassNames = ["a"] }));
        CollectionAssert.AreEqual(new[] { "x", "t" }, DenoiserOnnxExporter.Export(net).InputNames.ToArray());
    }

    [TestMethod]
    public void LearnedVarianceDdpmOnOnnxRuntimeEqualsTorchSharp()
    {
        using var net = SmoothUNet(PlainUnconditional, 8); // learns its variance
        string path = Path.Combine(_dir, "learned.onnx");
        var schedule = new NoiseScheduleOptions();
        DenoiserOnnxExporter.Export(net, new DenoiserOnnxExportOptions { NoiseSchedule = schedule }).Save(path);
        var torchDenoiser = new TorchSharpDenoiser(net, PredictionType.Epsilon);
        using var onnx = OnnxRuntimeDenoiser.Load(path, intraOpThreads: 1);
        Assert.IsTrue(onnx.Denoiser.LearnsVariance, "read from the output's doubled channels");
        var generation = new GenerationOptions { Count = 2, BatchSize = 2, NumInferenceSteps = 20, Seed = 5 };
        float[] expected = new DiffusionPipeline(torchDenoiser, new NoiseSchedule(schedule)).Generate(Samplers.Create("ddpm-learned"), generation);
        float[] actual = new DiffusionPipeline(onnx.Denoiser, onnx.CreateSchedule()).Generate(Samplers.Create("ddpm-learned"), generation);
        double max = expected.Zip(actual, (a, b) => Math.Abs(a - b)).Max();
        TestContext.WriteLine($"20-step DDPM with learned variance, 2 samples: max |onnx - torch| = {max:E2}");
        Assert.IsLessThanOrEqualTo(1e-3, max);
    }

    [TestMethod]
    public void Ddim50StepsOnOnnxRuntimeEqualTorchSharp()
    {
        using var net = SmoothUNet(AttentionConditional, 7);
        string path = Path.Combine(_dir, "sampler.onnx");
        var schedule = new NoiseScheduleOptions();
        DenoiserOnnxExporter.Export(net, new DenoiserOnnxExportOptions { NoiseSchedule = schedule }).Save(path);

        var torchDenoiser = new TorchSharpDenoiser(net, PredictionType.Epsilon);
        using var onnx = OnnxRuntimeDenoiser.Load(path, intraOpThreads: 1);
        foreach (double guidance in new[] { 1.0, 2.0 })
        {
            var generation = new GenerationOptions { Count = 4, BatchSize = 2, NumInferenceSteps = 50, Seed = 11, ClassLabels = [0, 2, 1, 0], GuidanceScale = guidance };
            float[] expected = new DiffusionPipeline(torchDenoiser, new NoiseSchedule(schedule)).Generate(new DdimSampler(), generation);
            float[] actual = new DiffusionPipeline(onnx.Denoiser, onnx.CreateSchedule()).Generate(new DdimSampler(), generation);

            Assert.HasCount(expected.Length, actual);
            double max = expected.Zip(actual, (a, b) => Math.Abs(a - b)).Max();
            TestContext.WriteLine($"50-step DDIM, guidance {guidance}, 4 samples of 1x8x8: max |onnx - torch| = {max:E2}");
            Assert.IsTrue(actual.All(float.IsFinite));
            Assert.IsGreaterThan(0.05, expected.Max(v => Math.Abs(v)), "non-trivial samples");
            // Guidance w multiplies the per-call difference (float32 rounding, ~1e-6) by about 2w - 1 at every step, so the
            // guided run gets a proportionally wider bound; the MUST-SHOW bound (1e-3) applies to the plain run.
            Assert.IsLessThanOrEqualTo(guidance == 1.0 ? 1e-3 : 5e-3, max);
        }
    }

    [TestMethod]
    public void LatentEntriesRoundTripAndAreCheckedTogether()
    {
        var metadata = new DiffusionModelMetadata { ModelKind = "dit", SampleShape = [4, 7, 7], LatentScale = 0.8125, LatentDecoder = "model-decoder.onnx" };
        var properties = metadata.ToProperties();
        Assert.AreEqual("2", properties[DiffusionModelMetadata.FormatVersionKey]);
        Assert.AreEqual("0.8125", properties[DiffusionModelMetadata.LatentScaleKey]);
        var read = DiffusionModelMetadata.FromProperties(properties, "latent.onnx");
        Assert.AreEqual(0.8125, read.LatentScale);
        Assert.AreEqual("model-decoder.onnx", read.LatentDecoder);
        Assert.IsNull(DiffusionModelMetadata.FromProperties(new DiffusionModelMetadata { ModelKind = "unet", SampleShape = [1, 8, 8] }.ToProperties()).LatentScale);

        Assert.AreEqual(0.8125, DiffusionModelMetadata.FromProperties((metadata with { LatentDecoder = null }).ToProperties()).LatentScale,
            "an autoencoder export records its scale alone");
        Assert.ThrowsExactly<InvalidOperationException>(() => (metadata with { LatentScale = null }).ToProperties());
        foreach (var (key, value) in new[]
        {
            (DiffusionModelMetadata.LatentScaleKey, (string?)null), (DiffusionModelMetadata.LatentScaleKey, "0"),
            (DiffusionModelMetadata.LatentScaleKey, "NaN"), (DiffusionModelMetadata.LatentDecoderKey, "../elsewhere/decoder.onnx"),
            (DiffusionModelMetadata.LatentDecoderKey, "/abs/decoder.onnx"),
        })
        {
            var bad = new Dictionary<string, string>(properties);
            if (value is null) bad.Remove(key);
            else bad[key] = value;
            var e = Assert.ThrowsExactly<InvalidDataException>(() => DiffusionModelMetadata.FromProperties(bad, "bad.onnx"), $"{key} = {value}");
            StringAssert.Contains(e.Message, "latent");
        }
    }

    [TestMethod]
    public void LoadTakesTheEvaluationBatchAndSlicedRunsPredictTheSame()
    {
        using var net = Randomize(new MlpDenoiser(new MlpDenoiserOptions { HiddenWidth = 16, HiddenLayers = 1 }), 8);
        string path = Path.Combine(_dir, "mlp.onnx");
        DenoiserOnnxExporter.Export(net).Save(path);
        using var whole = OnnxRuntimeDenoiser.Load(path, intraOpThreads: 1);
        using var sliced = OnnxRuntimeDenoiser.Load(path, intraOpThreads: 1, maxEvaluationBatch: 2);
        Assert.AreEqual(OnnxDenoiserOptions.CpuEvaluationBatch, whole.Denoiser.MaxEvaluationBatch);
        Assert.AreEqual(2, sliced.Denoiser.MaxEvaluationBatch);
        var rng = new Random(3);
        float[] x = Enumerable.Range(0, 5 * 2).Select(_ => (float)rng.NextDouble()).ToArray(), t = [0, 10, 200, 500, 999];
        float[] expected = new float[x.Length], actual = new float[x.Length];
        whole.Denoiser.Predict(x, t, [], expected);
        sliced.Denoiser.Predict(x, t, [], actual); // runs of 2, 2 and 1
        for (int i = 0; i < x.Length; i++) Assert.AreEqual(expected[i], actual[i], 1e-6, $"value {i}");
        var e = Assert.ThrowsExactly<ArgumentException>(() => OnnxRuntimeDenoiser.Load(path, maxEvaluationBatch: 0));
        StringAssert.Contains(e.Message, "MaxEvaluationBatch must be positive");
    }

    [TestMethod]
    public void CorruptTruncatedOrForeignFilesGiveClearErrors()
    {
        using var net = Randomize(new MlpDenoiser(new MlpDenoiserOptions { HiddenWidth = 16, HiddenLayers = 1 }), 8);
        byte[] bytes = DenoiserOnnxExporter.Export(net).ToByteArray();

        string truncated = Path.Combine(_dir, "truncated.onnx");
        File.WriteAllBytes(truncated, bytes[..(bytes.Length / 2)]);
        var e = Assert.ThrowsExactly<InvalidDataException>(() => OnnxRuntimeDenoiser.Load(truncated));
        StringAssert.Contains(e.Message, "could not be loaded as an ONNX model");
        e = Assert.ThrowsExactly<InvalidDataException>(() => OnnxModel.Load(truncated));
        StringAssert.Contains(e.Message, "truncated");

        string garbage = Path.Combine(_dir, "garbage.onnx");
        File.WriteAllText(garbage, "this is not a model");
        Assert.ThrowsExactly<InvalidDataException>(() => OnnxRuntimeDenoiser.Load(garbage));
        Assert.ThrowsExactly<InvalidDataException>(() => OnnxModel.Load(garbage));
        Assert.ThrowsExactly<FileNotFoundException>(() => OnnxRuntimeDenoiser.Load(Path.Combine(_dir, "missing.onnx")));

        // A valid ONNX file without Diffusion.ML metadata.
        var graph = new OnnxGraphBuilder();
        var x = graph.AddInput("x", OnnxElementType.Float, "batch", 2);
        graph.AddInput("t", OnnxElementType.Float, "batch");
        graph.AddOutput(graph.Identity(x), "out", OnnxElementType.Float, "batch", 2);
        string foreign = Path.Combine(_dir, "foreign.onnx");
        graph.Build().Save(foreign);
        e = Assert.ThrowsExactly<InvalidDataException>(() => OnnxRuntimeDenoiser.Load(foreign));
        StringAssert.Contains(e.Message, "no Diffusion.ML metadata");
        using var plain = new OnnxRuntimeDenoiser(foreign, new OnnxDenoiserOptions { SampleShape = [2] });
        Assert.AreEqual(0, plain.ClassCount, "the existing constructor still opens files without metadata");

        // Malformed metadata.
        var bad = new Dictionary<string, string>(DenoiserOnnxExporter.Export(net).Metadata) { [DiffusionModelMetadata.SampleShapeKey] = "[2," };
        e = Assert.ThrowsExactly<InvalidDataException>(() => DiffusionModelMetadata.FromProperties(bad, "bad.onnx"));
        StringAssert.Contains(e.Message, DiffusionModelMetadata.SampleShapeKey);
        bad[DiffusionModelMetadata.SampleShapeKey] = "[2]";
        bad[DiffusionModelMetadata.FormatVersionKey] = "99";
        e = Assert.ThrowsExactly<InvalidDataException>(() => DiffusionModelMetadata.FromProperties(bad, "bad.onnx"));
        StringAssert.Contains(e.Message, "Update Diffusion.ML");
    }
}
