using System.Text.Json;
using Diffusion.ML.Sampling;
using Diffusion.ML.Schedules;
using Diffusion.ML.TorchSharp.Autoencoders;
using Diffusion.ML.TorchSharp.Sampling;
using Diffusion.ML.TorchSharp.Training;
using Diffusion.ML.Zoo;
using static TorchSharp.torch;

namespace Diffusion.ML.TorchSharp.Tests.Zoo;

/// <summary>The models committed under zoo/ load, verify and sample.</summary>
[TestClass]
public sealed class ZooModelTests
{
    private static string RepositoryFile(string relative)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Diffusion.ML.sln"))) return Path.Combine(dir.FullName, relative);
        throw new AssertInconclusiveException("Not running inside the repository.");
    }

    [TestMethod]
    [DataRow("fashion-mnist-unet32")]
    [DataRow("fashion-mnist-latent-dit")]
    public void FashionMnistConfigDescribesTheCheckpoint(string id)
    {
        TorchSharpRuntime.EnsureLoaded();
        string path = RepositoryFile($"zoo/{id}/model.ckpt");
        var checkpoint = Checkpoint.Load(path);
        using var config = JsonDocument.Parse(File.ReadAllText(RepositoryFile($"zoo/{id}/config.json")));
        var root = config.RootElement;
        Assert.AreEqual(checkpoint.Manifest.ModelKind, root.GetProperty("kind").GetString());
        using var modelConfig = JsonDocument.Parse(checkpoint.Manifest.ModelConfig);
        Assert.IsTrue(JsonElement.DeepEquals(modelConfig.RootElement, root.GetProperty("config")), "config.json's config is the checkpoint's network config");
        CollectionAssert.AreEqual(checkpoint.Manifest.ClassNames!.ToArray(), root.GetProperty("classNames").EnumerateArray().Select(e => e.GetString()).ToArray());
        Assert.AreEqual(PredictionType.Epsilon, checkpoint.Manifest.Trainer.PredictionType);
        Assert.AreEqual("epsilon", root.GetProperty("predictionType").GetString());
        var schedule = root.GetProperty("schedule");
        Assert.AreEqual(checkpoint.Manifest.Trainer.Schedule, new NoiseScheduleOptions
        {
            BetaSchedule = Enum.Parse<BetaSchedule>(schedule.GetProperty("betaSchedule").GetString()!, ignoreCase: true),
            BetaStart = schedule.GetProperty("betaStart").GetDouble(),
            BetaEnd = schedule.GetProperty("betaEnd").GetDouble(),
            NumTrainTimesteps = schedule.GetProperty("numTrainTimesteps").GetInt32(),
        }, "the schedule in config.json, other settings at their defaults, is the checkpoint's");
        using var network = checkpoint.LoadNetwork();
        Assert.AreEqual(network.ParameterCount, root.GetProperty("parameters").GetInt64());
        CollectionAssert.AreEqual(network.SampleShape, root.GetProperty("inputShape").EnumerateArray().Select(e => e.GetInt64()).ToArray());
        if (checkpoint.Manifest.Trainer.LatentAutoencoder is { } reference)
        {
            // A latent model pins the autoencoder copy beside it (hash checked on load): its latents are the input shape.
            Assert.AreEqual("vae.ckpt", reference.File);
            using var autoencoder = reference.Load(path);
            CollectionAssert.AreEqual(autoencoder.LatentShape, network.SampleShape);
            Assert.AreEqual(autoencoder.LatentScale, root.GetProperty("latentScale").GetDouble(), 1e-12 * autoencoder.LatentScale);
        }
    }

    [TestMethod]
    public void FashionMnistModelSamplesEveryClass()
    {
        TorchSharpRuntime.EnsureLoaded();
        var checkpoint = Checkpoint.Load(RepositoryFile("zoo/fashion-mnist-unet32/model.ckpt"));
        Assert.IsFalse(checkpoint.CanResume);
        Assert.AreEqual("Sneaker", checkpoint.Manifest.ClassNames![7]);
        using var network = checkpoint.LoadNetwork();
        var denoiser = new TorchSharpDenoiser(network, checkpoint.Manifest.Trainer.PredictionType);
        float[] images = new DiffusionPipeline(denoiser, checkpoint.CreateSchedule()).Generate(new DdimSampler(),
            new GenerationOptions { Count = 10, BatchSize = 10, NumInferenceSteps = 3, ClassLabels = Enumerable.Range(0, 10).ToArray(), GuidanceScale = 2 });
        Assert.AreEqual(10 * 28 * 28, images.Length);
        Assert.IsTrue(images.All(v => v >= -1 && v <= 1), "DDIM's last step returns the clipped x0 estimate");
        Assert.IsTrue(images.Distinct().Count() > 100, "the images are not constant");
    }
    [TestMethod]
    public void LatentDitSamplesDecodeToImagesOfEveryClass()
    {
        TorchSharpRuntime.EnsureLoaded();
        string path = RepositoryFile("zoo/fashion-mnist-latent-dit/model.ckpt");
        var checkpoint = Checkpoint.Load(path);
        using var network = checkpoint.LoadNetwork();
        using var vae = checkpoint.Manifest.Trainer.LatentAutoencoder!.Load(path);
        float[] latents = new DiffusionPipeline(new TorchSharpDenoiser(network, checkpoint.Manifest.Trainer.PredictionType), checkpoint.CreateSchedule())
            .Generate(new DdimSampler(), new GenerationOptions
            {
                Count = 10, BatchSize = 10, NumInferenceSteps = 3, ClassLabels = Enumerable.Range(0, 10).ToArray(), GuidanceScale = 2, ClipSample = false,
            });
        Assert.AreEqual(10 * 4 * 7 * 7, latents.Length);
        float[] images = LatentCodec.DecodeLatents(vae, latents);
        Assert.AreEqual(10 * 28 * 28, images.Length);
        Assert.IsTrue(images.All(float.IsFinite), "the decoded images are finite");
        Assert.IsTrue(images.Distinct().Count() > 100, "the images are not constant");
    }

    [TestMethod]
    [DataRow("fashion-mnist-vae", "vae")]
    [DataRow("fashion-mnist-vqvae", "vqvae")]
    public void AutoencoderConfigDescribesTheCheckpoint(string id, string kind)
    {
        TorchSharpRuntime.EnsureLoaded();
        var model = ZooManifest.Load(RepositoryFile("zoo/manifest.json")).Find(id);
        Assert.AreEqual("image-autoencoder", model.Task);
        var checkpoint = AutoencoderCheckpoint.Load(RepositoryFile($"zoo/{id}/{model.FindFile(ZooFileFormats.Autoencoder)!.Path}"));
        using var config = JsonDocument.Parse(File.ReadAllText(RepositoryFile($"zoo/{id}/config.json")));
        var root = config.RootElement;
        Assert.AreEqual(kind, checkpoint.Manifest.ModelKind);
        Assert.AreEqual(checkpoint.Manifest.ModelKind, root.GetProperty("kind").GetString());
        using var modelConfig = JsonDocument.Parse(checkpoint.Manifest.ModelConfig);
        Assert.IsTrue(JsonElement.DeepEquals(modelConfig.RootElement, root.GetProperty("config")), "config.json's config is the checkpoint's network config");
        using var network = checkpoint.LoadModel();
        Assert.AreEqual(network.ParameterCount, root.GetProperty("parameters").GetInt64());
        CollectionAssert.AreEqual(network.ImageShape, root.GetProperty("inputShape").EnumerateArray().Select(e => e.GetInt64()).ToArray());
        // The latent fields are the weights' own latent shape and scale (what a latent denoiser's input must be).
        CollectionAssert.AreEqual(network.LatentShape, model.Architecture.LatentShape!.Select(d => (long)d).ToArray());
        Assert.AreEqual(network.LatentScale, model.Architecture.LatentScale!.Value, 1e-12 * network.LatentScale);
        CollectionAssert.AreEqual(network.LatentShape, root.GetProperty("latentShape").EnumerateArray().Select(e => e.GetInt64()).ToArray());

        using var scope = NewDisposeScope();
        var images = linspace(-1, 1, 2 * 28 * 28).reshape(2, 1, 28, 28);
        using var _ = no_grad();
        var latents = network.Encode(images);
        long[] latentBatch = [2, .. network.LatentShape];
        CollectionAssert.AreEqual(latentBatch, latents.shape);
        var decoded = network.Decode(latents);
        CollectionAssert.AreEqual(images.shape, decoded.shape);
        Assert.IsTrue(decoded.isfinite().all().item<bool>(), "the decoded images are finite");
    }
}
