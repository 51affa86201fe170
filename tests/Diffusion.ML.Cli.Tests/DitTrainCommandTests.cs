using Diffusion.ML.Onnx;
using Diffusion.ML.TorchSharp.Modules;
using Diffusion.ML.TorchSharp.Training;

namespace Diffusion.ML.Cli.Tests;

/// <summary><c>train --model dit</c> end to end on the embedded 8x8 digits: train, sample, export.</summary>
[TestClass]
public sealed class DitTrainCommandTests
{
    private string _dir = "";

    [TestInitialize]
    public void CreateFolder() => _dir = Directory.CreateTempSubdirectory("dml-cli-dit").FullName;

    [TestCleanup]
    public void DeleteFolder() => Directory.Delete(_dir, recursive: true);

    private static int Run(params string[] args) => CliApp.CreateRootCommand().Parse(args).InvokeAsync().GetAwaiter().GetResult();

    [TestMethod]
    public void TrainsSamplesAndExportsATinyDit()
    {
        string ckpt = Path.Combine(_dir, "dit.ckpt");
        Assert.AreEqual(0, Run("train", "--dataset", "digits", "--model", "dit", "--dit-size", "B", "--patch-size", "4", "--hidden-size", "32",
            "--depth", "1", "--heads", "2", "--steps", "2", "--batch-size", "8", "--output", ckpt, "--threads", "1"));
        var manifest = Checkpoint.Load(ckpt).Manifest;
        Assert.AreEqual("dit", manifest.ModelKind);
        var options = DitOptions.FromJson(manifest.ModelConfig);
        Assert.AreEqual((1, 8, 8, 4, 32, 1, 2, 10), (options.ImageChannels, options.ImageHeight, options.ImageWidth, options.PatchSize,
            options.HiddenSize, options.Depth, options.Heads, options.ClassCount));

        string images = Path.Combine(_dir, "images");
        Assert.AreEqual(0, Run("sample", "-c", ckpt, "--classes", "all", "--guidance", "2", "--count", "10", "--steps", "2", "-o", images, "--threads", "1"));
        Assert.AreEqual(10, Directory.GetFiles(images, "sample_*.png").Length);

        string onnx = Path.Combine(_dir, "dit.onnx");
        Assert.AreEqual(0, Run("export", "-c", ckpt, "-o", onnx));
        var model = OnnxModel.Load(onnx);
        Assert.AreEqual("dit", DiffusionModelMetadata.FromProperties(model.Metadata, onnx).ModelKind);
        Assert.IsTrue(model.OperatorCounts.ContainsKey("LayerNormalization"));
    }

    [TestMethod]
    public void MismatchedOptionsAreInputErrors()
    {
        string ckpt = Path.Combine(_dir, "bad.ckpt");
        string[] common = ["--dataset", "digits", "--steps", "1", "--batch-size", "8", "--output", ckpt, "--threads", "1"];
        Assert.AreEqual(CliApp.InputError, Run(["train", .. common, "--model", "dit", "--patch-size", "3"]), "8x8 is not divisible by 3");
        Assert.AreEqual(CliApp.InputError, Run(["train", .. common, "--model", "dit", "--hidden-size", "36", "--heads", "8"]), "36 is not divisible by 8 heads");
        Assert.AreEqual(CliApp.InputError, Run(["train", .. common, "--depth", "2"]), "DiT options need --model dit");
        Assert.AreEqual(CliApp.InputError, Run(["train", .. common, "--model", "dit", "--base-channels", "16"]), "UNet options with a DiT");
        Assert.AreEqual(CliApp.InputError, Run(["train", .. common, "--model", "mlp"]), "an MLP does not take images");
        Assert.AreEqual(CliApp.InputError, Run(["train", "--dataset", "moons", "--steps", "1", "--output", ckpt, "--model", "dit"]), "a DiT does not take points");
        Assert.IsFalse(File.Exists(ckpt));
    }
}
