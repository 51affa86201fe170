using Diffusion.ML.Sampling;
using Diffusion.ML.TorchSharp.Modules;
using Diffusion.ML.TorchSharp.Sampling;
using Diffusion.ML.TorchSharp.Training;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Diffusion.ML.MLNet.Tests;

/// <summary>
/// The whole chain in ML.NET: images -&gt; VAE encoder -&gt; noise scheduler -&gt; denoiser trainer on latents, then
/// sample requests -&gt; sampler -&gt; VAE decoder; saved, loaded and compared.
/// </summary>
[TestClass]
public sealed class LatentPipelineTests
{
    private string _dir = "";

    [TestInitialize]
    public void CreateFolder() => _dir = Directory.CreateTempSubdirectory("dml-mlnet-latent").FullName;

    [TestCleanup]
    public void DeleteFolder() => Directory.Delete(_dir, recursive: true);

    private static DenoiserTrainerEstimator.Options TinyDenoiser(string folder) => new()
    {
        Steps = 3, BatchSize = 8, WarmupSteps = 1, CheckpointFolder = folder, CheckpointEvery = 0, NoisyColumnName = "NoisyLatent",
        Dit = new DitOptions { PatchSize = 2, HiddenSize = 16, Depth = 1, Heads = 2, FrequencyEmbeddingSize = 16 }, Architecture = DenoiserArchitecture.Dit,
    };

    [TestMethod]
    public void TrainsInOnePipelineAndGeneratesTheSameImagesAfterLoading()
    {
        var ml = new MLContext(seed: 1);
        var images = TestData.Images(ml, 24);
        string ckpt = Path.Combine(_dir, "ckpt");
        var training = ml.Diffusion().TrainVae("Latent", "Pixels", new VaeEstimator.Options
            {
                Steps = 2, BatchSize = 8, LevelChannels = [8, 8], GroupNormGroups = 4, LatentChannels = 2, WarmupSteps = 1, CheckpointFolder = ckpt,
            })
            .Append(ml.Diffusion().AddNoise("Latent", new NoiseSchedulerOptions { Seed = 5, NoisyColumnName = "NoisyLatent" }))
            .Append(ml.Diffusion().TrainDenoiser("Latent", "Label", TinyDenoiser(ckpt)));
        var model = training.Fit(images);
        var vae = (VaeTransformer)model.First();
        var denoiser = model.LastTransformer;
        Assert.AreEqual(3, denoiser.ClassCount);
        CollectionAssert.AreEqual(new[] { 2, 4, 4 }, denoiser.SampleShape.ToArray());

        // The denoiser transformer on noisy rows equals the trained network on TorchSharp.
        var scored = model.Transform(images);
        var noisy = TestData.Column(scored, "NoisyLatent");
        var timesteps = scored.GetColumn<long[]>("Timestep").Select(t => t.Single()).ToArray();
        var predictions = TestData.Column(scored, "Prediction");
        var checkpoint = Checkpoint.Load(Path.Combine(ckpt, "denoiser.ckpt"));
        using var network = checkpoint.LoadNetwork(useEma: true, global::TorchSharp.torch.CPU);
        var expected = new float[24 * 32];
        new TorchSharpDenoiser(network, PredictionType.Epsilon).Predict(noisy.SelectMany(r => r).ToArray(), timesteps.Select(t => (float)t).ToArray(),
            TestData.Rows(24).Select(r => (int)r.Label).ToArray(), expected);
        VaeEstimatorTests.AssertClose(expected, predictions.SelectMany(p => p).ToArray(), 1e-4, "predictions");

        // Generation: requests -> sampler -> decoder, saved and loaded in a fresh context.
        var requests = ml.Diffusion().SampleRequests(denoiser, count: 6, seed: 42);
        var generation = ml.Diffusion().Sampler(denoiser, new SamplerOptions { Steps = 4, GuidanceScale = 2f })
            .Append(ml.Diffusion().VaeDecoder(vae, "Image", "Generated"))
            .Fit(requests);
        float[][] generated = TestData.Column(generation.Transform(requests), "Image");
        Assert.AreEqual(6, generated.Length);
        Assert.AreEqual(64, generated[0].Length);
        CollectionAssert.AreEqual(new long[] { 0, 1, 2, 0, 1, 2 }, requests.GetColumn<long>("Label").ToArray());

        string zip = Path.Combine(_dir, "generator.zip");
        ml.Model.Save(generation, requests.Schema, zip);
        var other = new MLContext();
        var loaded = other.Model.Load(zip, out var inputSchema);
        var again = TestData.Column(loaded.Transform(other.Diffusion().SampleRequests(inputSchema, count: 6, seed: 42, classes: [0, 1, 2])), "Image");
        for (int i = 0; i < 6; i++) CollectionAssert.AreEqual(generated[i], again[i], $"sample {i}");

        // Independent path for the latents: the C# DPM-Solver++(2M) on the TorchSharp network with the same seed, x0 not
        // clipped: latents are not bounded to [-1, 1] (the denoiser was trained without a PixelRange).
        var reference = new GenerationOptions { Count = 6, BatchSize = 6, NumInferenceSteps = 4, Seed = 42, ClassLabels = [0, 1, 2], GuidanceScale = 2, ClipSample = false };
        float[] latents = new DiffusionPipeline(new TorchSharpDenoiser(network, PredictionType.Epsilon), checkpoint.CreateSchedule())
            .Generate(new DpmSolverPlusPlusSampler(), reference);
        Assert.IsGreaterThan(1f, latents.Max(Math.Abs), "some latents leave [-1, 1], so the comparison tells clipped from unclipped");
        var onnxLatents = TestData.Column(ml.Diffusion().Sampler(denoiser, new SamplerOptions { Steps = 4, GuidanceScale = 2f }).Fit(requests).Transform(requests), "Generated");
        VaeEstimatorTests.AssertClose(latents, onnxLatents.SelectMany(l => l).ToArray(), 1e-3, "latents: ONNX generator vs C# sampler");
        var viewLatents = TestData.Column(ml.Diffusion().Generate(denoiser, new GenerationViewOptions { Count = 6, Seed = 42, Steps = 4, GuidanceScale = 2f }), "Generated");
        VaeEstimatorTests.AssertClose(latents, viewLatents.SelectMany(l => l).ToArray(), 1e-3, "latents: generation view vs C# sampler");
    }

    [TestMethod]
    public void SampleRequestsAreLazy()
    {
        var ml = new MLContext();
        static long PeakWhileReading(IDataView view)
        {
            GC.Collect();
            long start = GC.GetTotalMemory(true), peak = 0, rows = 0;
            using var cursor = view.GetRowCursor(view.Schema);
            var noise = cursor.GetGetter<VBuffer<float>>(view.Schema["Noise"]);
            var buffer = default(VBuffer<float>);
            while (cursor.MoveNext())
            {
                noise(ref buffer);
                if (++rows % 500 == 0) peak = Math.Max(peak, GC.GetTotalMemory(true) - start); // live memory while the cursor runs
            }
            return peak;
        }
        long small = PeakWhileReading(ml.Diffusion().SampleRequests(EmptySchema(784), 2_000, seed: 1));
        long large = PeakWhileReading(ml.Diffusion().SampleRequests(EmptySchema(784), 20_000, seed: 1));
        // The view holds one row, so both peaks are a few kB plus process noise (up to ~130 kB seen from lazily created
        // runtime objects); keeping the 18,000 extra rows of 784 floats would add 56 MB, and even 30 bytes per row 0.5 MB.
        Assert.IsLessThanOrEqualTo(1.2 * small + 512 * 1024, large, $"2,000 rows: {small} bytes; 20,000 rows: {large} bytes");
    }

    private static DataViewSchema EmptySchema(int size)
    {
        var builder = new DataViewSchema.Builder();
        builder.AddColumn("Noise", new VectorDataViewType(NumberDataViewType.Single, size));
        return builder.ToSchema();
    }
}
