using Diffusion.ML.TorchSharp.Modules;
using Microsoft.ML;

namespace Diffusion.ML.MLNet.Tests;

/// <summary>Cancelling a training Fit: it stops, leaves a checkpoint, and the next Fit ends where an uninterrupted one does.</summary>
[TestClass]
public sealed class FitCancellationTests
{
    private string _dir = "";

    [TestInitialize]
    public void CreateFolder() => _dir = Directory.CreateTempSubdirectory("dml-mlnet-cancel").FullName;

    [TestCleanup]
    public void DeleteFolder() => Directory.Delete(_dir, recursive: true);

    private static DenoiserTrainerEstimator.Options Options(string folder, IProgress<DiffusionTrainingProgress>? progress = null, CancellationToken token = default) => new()
    {
        Steps = 6, BatchSize = 8, WarmupSteps = 1, Seed = 3, CheckpointFolder = folder, CheckpointEvery = 0, PixelRange = PixelRange.Bytes,
        Architecture = DenoiserArchitecture.Dit, Dit = new DitOptions { PatchSize = 4, HiddenSize = 16, Depth = 1, Heads = 2, FrequencyEmbeddingSize = 16 },
        Progress = progress, CancellationToken = token,
    };

    [TestMethod]
    public void ACancelledFitResumesToTheSameModelAsAnUninterruptedOne()
    {
        var ml = new MLContext();
        var images = TestData.Images(ml, 24);
        var noisy = ml.Diffusion().AddNoise("Pixels", new NoiseSchedulerOptions { Seed = 9 }).Fit(images).Transform(images);

        string interrupted = Path.Combine(_dir, "interrupted");
        using var cancel = new CancellationTokenSource();
        var steps = new List<long>();
        var progress = new Recorder(p => { steps.Add(p.Step); if (p.Step == 2) cancel.Cancel(); });
        Assert.Throws<OperationCanceledException>(() => ml.Diffusion().TrainDenoiser("Pixels", "Label", Options(interrupted, progress, cancel.Token)).Fit(images));
        CollectionAssert.AreEqual(new long[] { 1, 2 }, steps, "training stops at the first step after the cancellation");
        Assert.IsTrue(File.Exists(Path.Combine(interrupted, "denoiser.ckpt")), "a cancelled Fit leaves a checkpoint");

        steps.Clear();
        var resumed = ml.Diffusion().TrainDenoiser("Pixels", "Label", Options(interrupted, new Recorder(p => steps.Add(p.Step)))).Fit(images);
        CollectionAssert.AreEqual(new long[] { 3, 4, 5, 6 }, steps, "the second Fit continues from step 2");
        var straight = ml.Diffusion().TrainDenoiser("Pixels", "Label", Options(Path.Combine(_dir, "straight"))).Fit(images);

        float[][] a = TestData.Column(resumed.Transform(noisy), "Prediction"), b = TestData.Column(straight.Transform(noisy), "Prediction");
        for (int i = 0; i < a.Length; i++) CollectionAssert.AreEqual(b[i], a[i], $"row {i}: interrupted + resumed equals uninterrupted");
    }

    private sealed class Recorder(Action<DiffusionTrainingProgress> onReport) : IProgress<DiffusionTrainingProgress>
    {
        public void Report(DiffusionTrainingProgress value) => onReport(value);
    }
}
