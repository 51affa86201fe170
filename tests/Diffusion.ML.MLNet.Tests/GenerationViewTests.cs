using Diffusion.ML.OnnxRuntime;
using Diffusion.ML.Sampling;
using Diffusion.ML.Schedules;
using Diffusion.ML.TorchSharp.Modules;
using Diffusion.ML.TorchSharp.Onnx;
using Diffusion.ML.TorchSharp.Sampling;
using Diffusion.ML.TorchSharp.Training;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Diffusion.ML.MLNet.Tests;

/// <summary>
/// The batched lazy view of <c>mlContext.Diffusion().Generate(...)</c>: equal to the library's <see cref="DiffusionPipeline"/>
/// run directly with the same sampler and seed, for every source (trained transformer, ONNX file, TorchSharp denoiser);
/// independent of the batch size and of how the rows are split; lazy; flat in memory; clear errors.
/// </summary>
[TestClass]
public sealed class GenerationViewTests
{
    private static string _dir = "";
    private static DenoiserTransformer _denoiser = null!;
    private static Checkpoint _checkpoint = null!;
    private static DenoiserNetwork _network = null!;
    private static string _onnxPath = "";

    /// <summary>One tiny class-conditional DiT on 8x8 pixels in [0, 255], trained once for the class; its checkpoint and ONNX export beside it.</summary>
    [ClassInitialize]
    public static void TrainOnce(TestContext _)
    {
        _dir = Directory.CreateTempSubdirectory("dml-mlnet-generate").FullName;
        var ml = new MLContext(seed: 1);
        _denoiser = ml.Diffusion().TrainDenoiser("Pixels", "Label", new DenoiserTrainerEstimator.Options
        {
            Steps = 20, BatchSize = 8, WarmupSteps = 1, LearningRate = 1e-2, EmaDecay = 0.5, PixelRange = PixelRange.Bytes, CheckpointFolder = _dir, CheckpointEvery = 0,
            Architecture = DenoiserArchitecture.Dit, Dit = new DitOptions { PatchSize = 2, HiddenSize = 16, Depth = 1, Heads = 2, FrequencyEmbeddingSize = 16 },
        }).Fit(TestData.Images(ml, 24));
        _checkpoint = Checkpoint.Load(Path.Combine(_dir, "denoiser.ckpt"));
        _network = _checkpoint.LoadNetwork(useEma: true, global::TorchSharp.torch.CPU);
        _onnxPath = Path.Combine(_dir, "denoiser.onnx");
        DenoiserOnnxExporter.Export(_checkpoint).Save(_onnxPath);
    }

    [ClassCleanup]
    public static void Cleanup()
    {
        _network?.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private static TorchSharpDenoiser TorchDenoiser() => new(_network, PredictionType.Epsilon);

    [TestMethod]
    [DataRow("ddim")]
    [DataRow("euler-ancestral")]
    [DataRow("dpm-solver++-2m")]
    public void TheTrainedDenoisersViewEqualsTheLibraryPipelineOnTorchSharp(string sampler)
    {
        var ml = new MLContext();
        var view = ml.Diffusion().Generate(_denoiser, new GenerationViewOptions
        {
            Count = 7, Seed = 11, BatchSize = 3, Sampler = sampler, Steps = 5, GuidanceScale = 2f, Classes = [2, 0],
        });

        Assert.AreEqual(7L, view.GetRowCount());
        Assert.IsFalse(view.CanShuffle);
        CollectionAssert.AreEqual(new[] { "Index", "Seed", "Label", "Generated" }, view.Schema.Select(c => c.Name).ToArray());
        var type = (VectorDataViewType)view.Schema["Generated"].Type;
        CollectionAssert.AreEqual(new[] { 1, 8, 8 }, type.Dimensions.ToArray());
        CollectionAssert.AreEqual(new long[] { 0, 1, 2, 3, 4, 5, 6 }, view.GetColumn<long>("Index").ToArray());
        CollectionAssert.AreEqual(Enumerable.Repeat(11L, 7).ToArray(), view.GetColumn<long>("Seed").ToArray());
        CollectionAssert.AreEqual(new long[] { 2, 0, 2, 0, 2, 0, 2 }, view.GetColumn<long>("Label").ToArray());

        // Independent path: the C# sampler on the TorchSharp network in one batch, mapped from [-1, 1] to [0, 255] by hand.
        var pipeline = new DiffusionPipeline(TorchDenoiser(), _checkpoint.CreateSchedule());
        var reference = new GenerationOptions { Count = 7, BatchSize = 7, Seed = 11, NumInferenceSteps = 5, GuidanceScale = 2, ClassLabels = [2, 0] };
        float[] expected = pipeline.Generate(Samplers.Create(sampler), reference).Select(v => (v + 1f) * 127.5f).ToArray();
        float[] generated = TestData.Column(view, "Generated").SelectMany(v => v).ToArray();
        VaeEstimatorTests.AssertClose(expected, generated, 0.01, $"{sampler}: view (ONNX Runtime) vs pipeline (TorchSharp), pixels in [0, 255]");

        // ONNX Runtime runs of one row (a guided batch of 3 is 6 rows) give the same samples.
        var sliced = ml.Diffusion().Generate(_denoiser, new GenerationViewOptions
        {
            Count = 7, Seed = 11, BatchSize = 3, Sampler = sampler, Steps = 5, GuidanceScale = 2f, Classes = [2, 0], MaxEvaluationBatch = 1,
        });
        VaeEstimatorTests.AssertClose(expected, TestData.Column(sliced, "Generated").SelectMany(v => v).ToArray(), 0.01, $"{sampler}: runs of one row");

        // The comparison is sharp: the same seeds with the classes swapped give other samples.
        float[] swapped = pipeline.Generate(Samplers.Create(sampler), reference with { ClassLabels = [0, 2] }).Select(v => (v + 1f) * 127.5f).ToArray();
        double change = swapped.Zip(expected, (a, b) => Math.Abs(a - b)).Max();
        Assert.IsGreaterThan(1.0, change, "classes swapped: largest change in [0, 255] units");
    }

    [TestMethod]
    public void FineTuningStartsFromTheCheckpointsEmaWeights()
    {
        var ml = new MLContext(seed: 1);
        string initial = Path.Combine(_dir, "denoiser.ckpt");
        DenoiserTrainerEstimator.Options FineTune() => new()
        {
            Steps = 1, BatchSize = 8, WarmupSteps = 0, LearningRate = 1e-9, EmaDecay = 0.5, PixelRange = PixelRange.Bytes, InitialCheckpoint = initial,
        };
        // A learning rate of 1e-9 leaves the weights where they started: the samples are the pretrained model's.
        var tuned = ml.Diffusion().TrainDenoiser("Pixels", "Label", FineTune()).Fit(TestData.Images(ml, 24));
        var options = new GenerationViewOptions { Count = 4, Seed = 3, BatchSize = 4, Sampler = "ddim", Steps = 4, GuidanceScale = 2f };
        float[] expected = TestData.Column(ml.Diffusion().Generate(_denoiser, options), "Generated").SelectMany(v => v).ToArray();
        float[] actual = TestData.Column(ml.Diffusion().Generate(tuned, options), "Generated").SelectMany(v => v).ToArray();
        VaeEstimatorTests.AssertClose(expected, actual, 0.05, "fine-tuned by a negligible step vs the pretrained model, pixels in [0, 255]");

        string Error(DenoiserTrainerEstimator.Options o) =>
            Assert.ThrowsExactly<ArgumentException>(() => ml.Diffusion().TrainDenoiser("Pixels", "Label", o).Fit(TestData.Images(ml, 24))).Message;
        var dit = FineTune();
        dit.Architecture = DenoiserArchitecture.UNet;
        StringAssert.Contains(Error(dit), "brings its network");
        var v = FineTune();
        v.PredictionType = PredictionType.VPrediction;
        StringAssert.Contains(Error(v), "was trained to predict Epsilon");
    }

    [TestMethod]
    [DataRow("ddim", OnnxGeneratorSampler.Ddim)]
    [DataRow("dpm-solver++-2m", OnnxGeneratorSampler.DpmSolverPlusPlus2M)]
    public void AgreesWithTheSavedOneGraphSampler(string name, OnnxGeneratorSampler graph)
    {
        var ml = new MLContext();
        var view = ml.Diffusion().Generate(_denoiser, new GenerationViewOptions { Count = 5, Seed = 8, BatchSize = 5, Sampler = name, Steps = 4, GuidanceScale = 2f });
        var requests = ml.Diffusion().SampleRequests(_denoiser, count: 5, seed: 8);
        var sampler = ml.Diffusion().Sampler(_denoiser, new SamplerOptions { Sampler = graph, Steps = 4, GuidanceScale = 2f }).Fit(requests);
        VaeEstimatorTests.AssertClose(TestData.Column(sampler.Transform(requests), "Generated").SelectMany(v => v).ToArray(),
            TestData.Column(view, "Generated").SelectMany(v => v).ToArray(), 0.05, $"{name}: batched view vs one-graph sampler at batch 1, pixels in [0, 255]");
    }

    [TestMethod]
    public void TheOnnxFileAndTorchSharpSourcesEqualThePipelineOnTheSameBackend()
    {
        var ml = new MLContext();
        var options = new GenerationViewOptions { Count = 9, Seed = 5, BatchSize = 4, Sampler = "heun", Steps = 3, Classes = [1] };
        var reference = new GenerationOptions { Count = 9, BatchSize = 9, Seed = 5, NumInferenceSteps = 3, ClassLabels = [1] };

        float[] fromFile = TestData.Column(ml.Diffusion().Generate(_onnxPath, options), "Generated").SelectMany(v => v).ToArray();
        using (var model = OnnxRuntimeDenoiser.Load(_onnxPath))
        {
            float[] expected = new DiffusionPipeline(model.Denoiser, model.CreateSchedule()).Generate(Samplers.Create("heun"), reference);
            VaeEstimatorTests.AssertClose(expected, fromFile, 1e-5, "ONNX file: view vs pipeline on ONNX Runtime");
        }

        var torch = TorchDenoiser();
        float[] fromTorch = TestData.Column(ml.Diffusion().Generate(torch, _checkpoint.CreateSchedule(), options), "Generated").SelectMany(v => v).ToArray();
        float[] expectedTorch = new DiffusionPipeline(torch, _checkpoint.CreateSchedule()).Generate(Samplers.Create("heun"), reference);
        VaeEstimatorTests.AssertClose(expectedTorch, fromTorch, 1e-4, "TorchSharp: view vs pipeline (batch 4 vs 9: TorchSharp rounds by batch)");
        VaeEstimatorTests.AssertClose(expectedTorch, fromFile, 1e-4, "the two backends agree");
    }

    [TestMethod]
    public void SamplesDependOnlyOnSeedAndIndexNotOnBatchSizeOrSplit()
    {
        var ml = new MLContext();
        GenerationViewOptions Options(int batch, long first, long count) => new()
        {
            Count = count, FirstIndex = first, Seed = 3, BatchSize = batch, Sampler = "euler-ancestral", Steps = 4, GuidanceScale = 1.5f,
        };
        float[][] batch7 = TestData.Column(ml.Diffusion().Generate(_onnxPath, Options(7, 0, 20)), "Generated");
        float[][] batch64 = TestData.Column(ml.Diffusion().Generate(_onnxPath, Options(64, 0, 20)), "Generated");
        VaeEstimatorTests.AssertClose(batch64.SelectMany(v => v).ToArray(), batch7.SelectMany(v => v).ToArray(), 1e-5, "batch 7 vs batch 64");

        // Rows 13..19 as a view of their own (a shard) equal those rows of the whole.
        var shard = ml.Diffusion().Generate(_onnxPath, Options(5, 13, 7));
        CollectionAssert.AreEqual(Enumerable.Range(13, 7).Select(i => (long)i).ToArray(), shard.GetColumn<long>("Index").ToArray());
        CollectionAssert.AreEqual(Enumerable.Range(13, 7).Select(i => (long)(i % 3)).ToArray(), shard.GetColumn<long>("Label").ToArray());
        VaeEstimatorTests.AssertClose(batch64.Skip(13).SelectMany(v => v).ToArray(), TestData.Column(shard, "Generated").SelectMany(v => v).ToArray(), 1e-5, "shard vs whole");
    }

    [TestMethod]
    public void TheModelRunsOnlyWhenSamplesAreReadOneBatchAtATime()
    {
        var ml = new MLContext();
        var counting = new CountingDenoiser(TorchDenoiser());
        var view = ml.Diffusion().Generate(counting, _checkpoint.CreateSchedule(),
            new GenerationViewOptions { Count = 10, BatchSize = 4, Sampler = "ddim", Steps = 3, Classes = [0, 1, 2] });
        Assert.IsEmpty(counting.Batches, "creating the view runs nothing");

        // The other columns never run the model, nor does a cursor that has the samples active but does not read them.
        CollectionAssert.AreEqual(new long[] { 0, 1, 2, 0, 1, 2, 0, 1, 2, 0 }, view.GetColumn<long>("Label").ToArray());
        using (var unread = view.GetRowCursor(view.Schema))
            while (unread.MoveNext()) { }
        Assert.IsEmpty(counting.Batches, "index, seed and label columns alone");

        var cursors = view.GetRowCursorSet(view.Schema, 4);
        Assert.HasCount(1, cursors);
        using var cursor = cursors[0];
        var sample = cursor.GetGetter<VBuffer<float>>(view.Schema["Generated"]);
        var buffer = default(VBuffer<float>);
        void Read(int rows)
        {
            for (int r = 0; r < rows; r++) Assert.IsTrue(cursor.MoveNext());
            sample(ref buffer);
        }
        Read(1);
        CollectionAssert.AreEqual(new[] { 4, 4, 4 }, counting.Batches, "row 0: batch 0 (rows 0-3), one call per DDIM step");
        Read(3);
        Assert.HasCount(3, counting.Batches, "row 3 is in the batch already computed");
        Read(2);
        CollectionAssert.AreEqual(new[] { 4, 4, 4, 4, 4, 4 }, counting.Batches, "row 5: batch 1");
        Read(4);
        CollectionAssert.AreEqual(new[] { 4, 4, 4, 4, 4, 4, 2, 2, 2 }, counting.Batches, "rows 6-8 skipped, row 9: the last batch of 2");
        Assert.IsFalse(cursor.MoveNext());
    }

    [TestMethod]
    public void LiveMemoryDoesNotGrowWithTheNumberOfRows()
    {
        var ml = new MLContext();
        var denoiser = new DelegateDenoiser([3, 32, 32], PredictionType.Epsilon, (x, _, _, output) =>
        {
            for (int i = 0; i < x.Length; i++) output[i] = 0.5f * x[i];
        });
        var schedule = new NoiseSchedule(new NoiseScheduleOptions());
        long PeakWhileReading(long count)
        {
            var view = ml.Diffusion().Generate(denoiser, schedule, new GenerationViewOptions { Count = count, Sampler = "ddim", Steps = 1 });
            GC.Collect();
            long start = GC.GetTotalMemory(true), peak = 0, rows = 0;
            using var cursor = view.GetRowCursor(view.Schema);
            var sample = cursor.GetGetter<VBuffer<float>>(view.Schema["Generated"]);
            var buffer = default(VBuffer<float>);
            while (cursor.MoveNext())
            {
                sample(ref buffer);
                if (++rows % 250 == 0) peak = Math.Max(peak, GC.GetTotalMemory(true) - start); // live memory while the cursor runs
            }
            Assert.AreEqual(count, rows);
            return peak;
        }
        long small = PeakWhileReading(1_000);
        long large = PeakWhileReading(10_000);
        // Both peaks are one batch plus process noise (lazily created runtime objects, up to a few hundred kB seen when
        // other work shares the machine); keeping the 9,000 extra rows of 3,072 floats would add 110 MB.
        Assert.IsLessThanOrEqualTo(1.2 * small + 512 * 1024, large, $"1,000 rows: {small} bytes; 10,000 rows: {large} bytes");
    }

    [TestMethod]
    public void BadArgumentsAreRefusedWhenTheViewIsMadeWithClearMessages()
    {
        var ml = new MLContext().Diffusion();
        string Error(Action make) => Assert.Throws<ArgumentException>(make).Message;

        string unknown = Error(() => ml.Generate(_denoiser, new GenerationViewOptions { Count = 4, Sampler = "dpm-solver" }));
        StringAssert.Contains(unknown, "Unknown sampler 'dpm-solver'");
        foreach (string name in Samplers.Names) StringAssert.Contains(unknown, name);

        StringAssert.Contains(Error(() => ml.Generate(_denoiser, new GenerationViewOptions { Count = 4, Classes = [1, 3] })),
            "Class 3 is out of range: the model has 3 classes (0..2)");
        StringAssert.Contains(Error(() => ml.Generate(_denoiser, new GenerationViewOptions { Count = 0 })), "Count must be at least 1");
        StringAssert.Contains(Error(() => ml.Generate(_onnxPath, new GenerationViewOptions { Count = -5 })), "Count must be at least 1");
        StringAssert.Contains(Error(() => ml.Generate(_denoiser, new GenerationViewOptions { Count = 4, BatchSize = 0 })), "BatchSize must be at least 1");
        StringAssert.Contains(Error(() => ml.Generate(_denoiser, new GenerationViewOptions { Count = 4, Steps = 1001 })), "Steps must lie in 1..1000");
        StringAssert.Contains(Error(() => ml.Generate(_denoiser, new GenerationViewOptions { Count = 4, Sampler = "ddim", SamplerSettings = new SamplerSettings { Order = 3 } })),
            "has no option Order");
        StringAssert.Contains(Error(() => ml.Generate(_denoiser, new GenerationViewOptions { Count = 4, OutputColumnName = "Label" })), "column names must differ");
        StringAssert.Contains(Error(() => ml.Generate(_denoiser, new GenerationViewOptions { Count = 4, GpuDeviceId = -1 })), "GpuDeviceId must be a CUDA device number");
        StringAssert.Contains(Error(() => ml.Generate(TorchDenoiser(), _checkpoint.CreateSchedule(), new GenerationViewOptions { Count = 4, GpuDeviceId = 0 })),
            "GpuDeviceId applies to the ONNX Runtime sources");
        StringAssert.Contains(Error(() => ml.Generate(_onnxPath, new GenerationViewOptions { Count = 4, MaxEvaluationBatch = 0 })), "MaxEvaluationBatch must be at least 1");
        StringAssert.Contains(Error(() => ml.Generate(TorchDenoiser(), _checkpoint.CreateSchedule(), new GenerationViewOptions { Count = 4, MaxEvaluationBatch = 8 })),
            "MaxEvaluationBatch applies to the ONNX Runtime sources");

        var unconditional = new DelegateDenoiser([2], PredictionType.Epsilon, (_, _, _, output) => output.Clear());
        var schedule = new NoiseSchedule(new NoiseScheduleOptions());
        StringAssert.Contains(Error(() => ml.Generate(unconditional, schedule, new GenerationViewOptions { Count = 4, Classes = [0] })), "unconditional; set Classes to null");
        StringAssert.Contains(Error(() => ml.Generate(unconditional, schedule, new GenerationViewOptions { Count = 4, GuidanceScale = 3 })), "needs a class-conditional model");
        Assert.ThrowsExactly<FileNotFoundException>(() => ml.Generate(Path.Combine(_dir, "missing.onnx"), new GenerationViewOptions { Count = 4 }));
    }

    /// <summary>Records the batch size of every model evaluation.</summary>
    private sealed class CountingDenoiser(IDenoiser inner) : IDenoiser
    {
        public List<int> Batches { get; } = [];

        public IReadOnlyList<int> SampleShape => inner.SampleShape;

        public PredictionType PredictionType => inner.PredictionType;

        public int ClassCount => inner.ClassCount;

        public void Predict(ReadOnlySpan<float> x, ReadOnlySpan<float> timesteps, ReadOnlySpan<int> classLabels, Span<float> output)
        {
            Batches.Add(timesteps.Length);
            inner.Predict(x, timesteps, classLabels, output);
        }
    }
}
