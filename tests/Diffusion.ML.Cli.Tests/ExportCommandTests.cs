using System.Globalization;
using Diffusion.ML.Onnx;
using Diffusion.ML.TorchSharp.Onnx;

namespace Diffusion.ML.Cli.Tests;

/// <summary><c>export</c> and <c>sample --backend onnx</c> end to end on tiny checkpoints.</summary>
[TestClass]
public sealed class ExportCommandTests
{
    private string _dir = "";

    [TestInitialize]
    public void CreateFolder() => _dir = Directory.CreateTempSubdirectory("dml-cli-export").FullName;

    [TestCleanup]
    public void DeleteFolder() => Directory.Delete(_dir, recursive: true);

    private static int Run(params string[] args) => CliApp.CreateRootCommand().Parse(args).InvokeAsync().GetAwaiter().GetResult();

    private static double[] ReadCsv(string path) => File.ReadAllLines(path).Skip(1)
        .SelectMany(line => line.Split(',')).Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToArray();

    [TestMethod]
    public void ExportedPointModelSamplesLikeTheCheckpoint()
    {
        string ckpt = Path.Combine(_dir, "moons.ckpt");
        Assert.AreEqual(0, Run("train", "--dataset", "moons", "--steps", "3", "--batch-size", "16", "--output", ckpt, "--threads", "1"));
        Assert.AreEqual(0, Run("export", "-c", ckpt));
        string onnx = Path.Combine(_dir, "moons.onnx");
        var metadata = DiffusionModelMetadata.FromProperties(OnnxModel.Load(onnx).Metadata, onnx);
        Assert.AreEqual("mlp", metadata.ModelKind);
        Assert.AreEqual("ema", metadata.Weights);
        Assert.IsNotNull(metadata.NoiseSchedule);

        string torchOut = Path.Combine(_dir, "torch"), onnxOut = Path.Combine(_dir, "onnx");
        Assert.AreEqual(0, Run("sample", "-c", ckpt, "--count", "6", "--steps", "10", "-o", torchOut, "--threads", "1"));
        Assert.AreEqual(0, Run("sample", "--backend", "onnx", "-c", onnx, "--count", "6", "--steps", "10", "-o", onnxOut, "--threads", "1"));
        double[] a = ReadCsv(Path.Combine(torchOut, "samples.csv")), b = ReadCsv(Path.Combine(onnxOut, "samples.csv"));
        Assert.HasCount(12, a);
        Assert.IsLessThanOrEqualTo(1e-3, a.Zip(b, (x, y) => Math.Abs(x - y)).Max());

        Assert.AreEqual(CliApp.InputError, Run("sample", "-c", onnx, "-o", onnxOut), "an .onnx file without --backend onnx is refused with a hint");
        Assert.AreEqual(CliApp.InputError, Run("sample", "--backend", "onnx", "-c", onnx, "--raw-weights", "-o", onnxOut));
        Assert.AreEqual(CliApp.InputError, Run("sample", "--backend", "onnx", "-c", ckpt, "-o", onnxOut), "a checkpoint is not an ONNX file");
        Assert.AreEqual(CliApp.InputError, Run("export", "-c", ckpt, "-o", Path.Combine(_dir, "x.onnx"), "--opset", "12"));
    }

    [TestMethod]
    public void ExportsAConditionalUNetAtOpset21WithRawWeights()
    {
        string ckpt = Path.Combine(_dir, "digits.ckpt");
        Assert.AreEqual(0, Run("train", "--dataset", "digits", "--steps", "2", "--batch-size", "8", "--base-channels", "16", "--output", ckpt, "--threads", "1"));
        string onnx = Path.Combine(_dir, "digits-raw.onnx");
        Assert.AreEqual(0, Run("export", "-c", ckpt, "-o", onnx, "--opset", "21", "--raw-weights"));
        var model = OnnxModel.Load(onnx);
        Assert.AreEqual(21, model.Opset);
        Assert.IsTrue(model.OperatorCounts.ContainsKey("GroupNormalization"));
        var metadata = DiffusionModelMetadata.FromProperties(model.Metadata, onnx);
        Assert.AreEqual(("unet", "raw", 10), (metadata.ModelKind, metadata.Weights, metadata.ClassCount));
        Assert.AreEqual(10, metadata.ClassNames!.Count);

        string outDir = Path.Combine(_dir, "images");
        Assert.AreEqual(0, Run("sample", "--backend", "onnx", "-c", onnx, "--classes", "all", "--guidance", "2", "--count", "10", "--steps", "3", "-o", outDir));
        Assert.IsTrue(File.Exists(Path.Combine(outDir, "grid.png")));
        Assert.AreEqual(10, Directory.GetFiles(outDir, "sample_*.png").Length);

        string generator = Path.Combine(_dir, "digits-ddim.onnx");
        Assert.AreEqual(0, Run("export", "-c", ckpt, "-o", generator, "--sampler", "ddim"));
        var loop = OnnxModel.Load(generator);
        Assert.IsTrue(loop.OperatorCounts.ContainsKey("Loop"));
        CollectionAssert.AreEquivalent(new[] { "noise", "steps", "class_labels", "guidance_scale" }, loop.InputNames.ToArray());
        Assert.AreEqual("ddim", loop.Metadata[GeneratorOnnxExporter.SamplerKey]);
        string dpm = Path.Combine(_dir, "digits-dpm.onnx");
        Assert.AreEqual(0, Run("export", "-c", ckpt, "-o", dpm, "--sampler", "dpm-solver++-2m"));
        Assert.AreEqual("dpm-solver++-2m", OnnxModel.Load(dpm).Metadata[GeneratorOnnxExporter.SamplerKey]);
    }
}
