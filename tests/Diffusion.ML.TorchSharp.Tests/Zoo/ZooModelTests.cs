using Diffusion.ML.Sampling;
using Diffusion.ML.TorchSharp.Sampling;
using Diffusion.ML.TorchSharp.Training;

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
}
