using Diffusion.ML.Cli.Commands;
using Diffusion.ML.TorchSharp.Training;
using Diffusion.ML.Zoo;

namespace Diffusion.ML.Cli.Tests;

/// <summary><c>train --init-from</c>: fine-tuning starts from the pretrained EMA weights and keeps the pretrained model's settings.</summary>
[TestClass]
public sealed class FineTuneCommandTests
{
    private string _dir = "";

    [TestInitialize]
    public void CreateFolder() => _dir = Directory.CreateTempSubdirectory("dml-finetune").FullName;

    [TestCleanup]
    public void DeleteFolder() => Directory.Delete(_dir, recursive: true);

    private static int Run(params string[] args) => CliApp.CreateRootCommand().Parse(args).InvokeAsync().GetAwaiter().GetResult();

    private static float[] Weights(Checkpoint checkpoint, bool useEma)
    {
        using var network = checkpoint.LoadNetwork(useEma);
        return [.. network.parameters().SelectMany(p => p.data<float>().ToArray())];
    }

    private static double MaxDifference(float[] a, float[] b)
    {
        Assert.HasCount(a.Length, b);
        return a.Zip(b, (x, y) => Math.Abs(x - y)).Max();
    }

    [TestMethod]
    public void AZooModelIsTheStartingPointAndItsSettingsAreKept()
    {
        string tuned = Path.Combine(_dir, "tuned.ckpt");
        string cache = Path.Combine(_dir, "cache");
        // Learning rate 1e-9: one AdamW step moves each weight by about 1e-9, so the start shows through.
        Assert.AreEqual(0, Run("train", "--dataset", "digits", "--init-from", "digits-unet", "--offline", "--cache-dir", cache,
            "--steps", "1", "--batch-size", "8", "--lr", "1e-9", "--warmup", "0", "--output", tuned, "--threads", "1"));

        string pretrainedPath = ModelSource.Resolve("digits-unet", "torch", () => new ZooClient(new ZooClientOptions { Offline = true, CacheDirectory = cache }),
            CancellationToken.None).Path;
        var pretrained = Checkpoint.Load(pretrainedPath);
        var result = Checkpoint.Load(tuned);
        Assert.AreEqual(1L, result.Manifest.Step);
        Assert.AreEqual(pretrained.Manifest.ModelKind, result.Manifest.ModelKind);
        Assert.AreEqual(pretrained.Manifest.ModelConfig, result.Manifest.ModelConfig);
        Assert.AreEqual(pretrained.Manifest.Trainer.Schedule, result.Manifest.Trainer.Schedule);
        Assert.AreEqual(pretrained.Manifest.Trainer.PredictionType, result.Manifest.Trainer.PredictionType);
        float[] start = Weights(pretrained, useEma: true);
        Assert.IsLessThan(1e-7, MaxDifference(start, Weights(result, useEma: false)), "the trained weights start at the pretrained EMA weights");

        // A learning rate of 1e-3 moves them by about 1e-3 in one step: the comparison above is sharp.
        string moved = Path.Combine(_dir, "moved.ckpt");
        Assert.AreEqual(0, Run("train", "--dataset", "digits", "--init-from", "digits-unet", "--offline", "--cache-dir", cache,
            "--steps", "1", "--batch-size", "8", "--lr", "1e-3", "--warmup", "0", "--output", moved, "--threads", "1"));
        Assert.IsGreaterThan(5e-4, MaxDifference(start, Weights(Checkpoint.Load(moved), useEma: false)));
    }

    [TestMethod]
    public void OptionsThatWouldChangeTheModelAndDataOfAnotherShapeAreRefused()
    {
        string[] start = ["train", "--init-from", "digits-unet", "--offline", "--cache-dir", Path.Combine(_dir, "cache"), "--steps", "1", "--threads", "1"];
        Assert.AreEqual(CliApp.InputError, Run([.. start, "--dataset", "digits", "--base-channels", "16", "--output", Path.Combine(_dir, "a.ckpt")]));
        Assert.AreEqual(CliApp.InputError, Run([.. start, "--dataset", "digits", "--prediction", "VPrediction", "--output", Path.Combine(_dir, "b.ckpt")]));
        Assert.AreEqual(CliApp.InputError, Run([.. start, "--dataset", "moons", "--output", Path.Combine(_dir, "c.ckpt")]), "2-D points into an 8x8 UNet");
        Assert.IsFalse(File.Exists(Path.Combine(_dir, "a.ckpt")) || File.Exists(Path.Combine(_dir, "b.ckpt")) || File.Exists(Path.Combine(_dir, "c.ckpt")));
    }
}
