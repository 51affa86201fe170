using System.Text.Json;
using Diffusion.ML.Data;

namespace Diffusion.ML.Cli.Tests;

/// <summary>End-to-end runs of <c>diffusion-ml eval</c> on tiny models (Fashion-MNIST from Debian's dataset-fashion-mnist).</summary>
[TestClass]
public sealed class EvalCommandTests
{
    private string _dir = "";

    [TestInitialize]
    public void CreateFolder()
    {
        if (!System.IO.File.Exists(Path.Combine(FashionMnist.DefaultDirectory, "t10k-images-idx3-ubyte.gz")) &&
            !System.IO.File.Exists(Path.Combine(FashionMnist.DefaultDirectory, "t10k-images-idx3-ubyte")))
            Assert.Inconclusive($"Fashion-MNIST is not installed in {FashionMnist.DefaultDirectory} (apt install dataset-fashion-mnist).");
        _dir = Directory.CreateTempSubdirectory("dml-eval").FullName;
    }

    [TestCleanup]
    public void DeleteFolder()
    {
        if (_dir != "") Directory.Delete(_dir, recursive: true);
    }

    private static int Run(params string[] args) => CliApp.CreateRootCommand().Parse(args).InvokeAsync().GetAwaiter().GetResult();

    private string File(string name) => Path.Combine(_dir, name);

    private static JsonElement Read(string path) => JsonDocument.Parse(System.IO.File.ReadAllText(path)).RootElement;

    [TestMethod]
    public void EvaluatesACheckpointAFolderAndTheDataItself()
    {
        string ckpt = File("fm.ckpt"), features = File("features.zip");
        Assert.AreEqual(0, Run("train", "--dataset", "fashion-mnist", "--steps", "2", "--batch-size", "8", "--base-channels", "16", "--attention", "none",
            "--output", ckpt, "--threads", "1"));
        Assert.AreEqual(0, Run("train-classifier", "--dataset", "fashion-mnist", "--epochs", "1", "--limit", "64", "--batch-size", "32", "--channels", "4,8",
            "--features", "8", "--warmup", "1", "-o", features, "--threads", "1"));

        // Samples from the checkpoint, and its bits/dim with an importance-sampling pilot.
        string json = File("ckpt.json");
        Assert.AreEqual(0, Run("eval", "-c", ckpt, "--features", features, "--count", "12", "--batch-size", "12", "--steps", "2", "--classes", "all",
            "--reference-count", "30", "--kid-subsets", "2", "--kid-subset-size", "10", "--bits-per-dim", "--nll-images", "3", "--nll-timesteps", "2",
            "--nll-pilot", "2", "--json", json, "--threads", "1"));
        var report = Read(json);
        var quality = report.GetProperty("quality");
        Assert.IsTrue(quality.GetProperty("fid").GetDouble() is >= 0 and < double.PositiveInfinity);
        Assert.AreEqual(12, quality.GetProperty("generatedCount").GetInt32());
        Assert.AreEqual(30, quality.GetProperty("realCount").GetInt32());
        Assert.AreEqual(12, quality.GetProperty("predictedClassCounts").EnumerateArray().Sum(c => c.GetInt32()));
        Assert.IsTrue(quality.GetProperty("classAgreement").GetDouble() is >= 0 and <= 1);
        Assert.IsTrue(quality.GetProperty("inceptionScoreMean").GetDouble() is >= 1 and <= 10);
        var likelihood = report.GetProperty("likelihood");
        Assert.AreEqual(3, likelihood.GetProperty("images").GetInt32());
        Assert.AreEqual(2 * 1000 + 3 * 3, likelihood.GetProperty("networkEvaluations").GetInt64(), "pilot: all T terms of 2 images; then 1 + 2 per image");
        Assert.IsTrue(likelihood.GetProperty("bitsPerDim").GetDouble() is > 0 and < 100);

        // The same model exported to ONNX and evaluated on ONNX Runtime: same seeds, so the same numbers up to float noise.
        string onnx = File("fm.onnx"), onnxJson = File("onnx.json");
        Assert.AreEqual(0, Run("export", "-c", ckpt, "-o", onnx));
        Assert.AreEqual(0, Run("eval", "-c", onnx, "--features", features, "--count", "12", "--batch-size", "12", "--steps", "2", "--classes", "all",
            "--reference-count", "30", "--kid-subsets", "2", "--kid-subset-size", "10", "--bits-per-dim", "--nll-images", "3", "--nll-timesteps", "2",
            "--nll-pilot", "2", "--json", onnxJson, "--threads", "1"));
        var onnxReport = Read(onnxJson);
        StringAssert.StartsWith(onnxReport.GetProperty("source").GetString(), "ONNX model");
        Assert.AreEqual(quality.GetProperty("fid").GetDouble(), onnxReport.GetProperty("quality").GetProperty("fid").GetDouble(),
            1e-3 * quality.GetProperty("fid").GetDouble());
        Assert.AreEqual(likelihood.GetProperty("bitsPerDim").GetDouble(), onnxReport.GetProperty("likelihood").GetProperty("bitsPerDim").GetDouble(), 1e-3);

        // A folder written by sample: the grid is skipped, the classes say what each file was generated for.
        string folder = File("samples");
        Assert.AreEqual(0, Run("sample", "-c", ckpt, "--count", "10", "--steps", "2", "--classes", "all", "-o", folder, "--threads", "1"));
        string folderJson = File("folder.json");
        Assert.AreEqual(0, Run("eval", "--images", folder, "--features", features, "--classes", "all", "--reference-count", "30",
            "--kid-subsets", "2", "--kid-subset-size", "10", "--json", folderJson, "--threads", "1"));
        quality = Read(folderJson).GetProperty("quality");
        Assert.AreEqual(10, quality.GetProperty("generatedCount").GetInt32());
        Assert.IsTrue(quality.TryGetProperty("classAgreement", out _));

        // Real against real: the train split scored against the test split.
        string floorJson = File("floor.json");
        Assert.AreEqual(0, Run("eval", "--data-split", "train", "--count", "40", "--features", features, "--reference-count", "40",
            "--kid-subsets", "2", "--kid-subset-size", "20", "--json", floorJson, "--threads", "1"));
        Assert.IsGreaterThanOrEqualTo(0.0, Read(floorJson).GetProperty("quality").GetProperty("fid").GetDouble());

        // Bad combinations are refused with an input error, and nothing is written.
        string bad = File("bad.json");
        Assert.AreEqual(CliApp.InputError, Run("eval", "-c", ckpt, "--images", folder, "--features", features, "--json", bad));
        Assert.AreEqual(CliApp.InputError, Run("eval", "--images", folder, "--features", features, "--bits-per-dim", "--json", bad));
        Assert.AreEqual(CliApp.InputError, Run("eval", "--images", folder, "--features", File("missing.zip"), "--json", bad));
        Assert.AreEqual(CliApp.InputError, Run("eval", "--images", File("no-such-folder"), "--features", features, "--json", bad));
        Assert.IsFalse(System.IO.File.Exists(bad));
    }
}
