using Diffusion.ML.Sampling;
using Diffusion.ML.TorchSharp.Modules;
using Diffusion.ML.TorchSharp.Sampling;
using Diffusion.ML.TorchSharp.Training;
using TorchSharp;

namespace Diffusion.ML.TorchSharp.Tests.Training;

/// <summary>A DiT goes through the unchanged trainer, checkpoint and sampling code like the UNet.</summary>
[TestClass]
public sealed class DitTrainingTests
{
    [TestInitialize]
    public void LoadTorch() => TorchSharpRuntime.EnsureLoaded();

    [TestMethod]
    public void TinyDitTrainsSavesLoadsAndSamples()
    {
        string path = Path.Combine(Path.GetTempPath(), $"dml-dit-{Guid.NewGuid():N}.ckpt");
        try
        {
            torch.manual_seed(6);
            var network = new Dit(new DitOptions
            {
                ImageChannels = 1, ImageHeight = 8, ImageWidth = 8, PatchSize = 2, HiddenSize = 16, Depth = 2, Heads = 2,
                FrequencyEmbeddingSize = 16, ClassCount = 3,
            });
            var options = new DdpmTrainerOptions { BatchSize = 8, LearningRate = 1e-3, WarmupSteps = 1, Seed = 3, ClassDropout = 0.3 };
            using var trainer = new DdpmTrainer(network, TinyModels.Images(), options);
            trainer.Train(3, path);
            Assert.AreEqual(3L, trainer.Step);
            Assert.IsGreaterThan(0f, ((Dit)trainer.Network).FinalLayer.Decoder.weight!.abs().max().item<float>(),
                "the zero-initialised decoder receives gradients and moves");

            var checkpoint = Checkpoint.Load(path);
            Assert.AreEqual(Dit.KindName, checkpoint.Manifest.ModelKind);
            using var loaded = checkpoint.LoadNetwork(useEma: true);
            Assert.IsInstanceOfType<Dit>(loaded);
            CheckpointTests.AssertSameParameters(trainer.Ema.Model, loaded);

            var denoiser = new TorchSharpDenoiser(loaded, checkpoint.Manifest.Trainer.PredictionType);
            CollectionAssert.AreEqual(new[] { 1, 8, 8 }, denoiser.SampleShape.ToArray());
            float[] samples = new DiffusionPipeline(denoiser, checkpoint.CreateSchedule()).Generate(new DdimSampler(eta: 0),
                new GenerationOptions { Count = 3, NumInferenceSteps = 4, ClassLabels = [2], GuidanceScale = 2, Seed = 1 });
            Assert.HasCount(3 * 64, samples);
            Assert.IsTrue(samples.All(float.IsFinite), "samples are finite");
        }
        finally { File.Delete(path); }
    }
}
