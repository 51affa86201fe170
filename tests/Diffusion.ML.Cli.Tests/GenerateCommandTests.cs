namespace Diffusion.ML.Cli.Tests;

/// <summary><c>diffusion-ml generate</c> end to end on a tiny digits model, on TorchSharp and on ONNX Runtime.</summary>
[TestClass]
public sealed class GenerateCommandTests
{
    private string _dir = "";

    [TestInitialize]
    public void CreateFolder() => _dir = Directory.CreateTempSubdirectory("dml-generate").FullName;

    [TestCleanup]
    public void DeleteFolder() => Directory.Delete(_dir, recursive: true);

    private static int Run(params string[] args) => CliApp.CreateRootCommand().Parse(args).InvokeAsync().GetAwaiter().GetResult();

    private Dictionary<string, byte[]> Images(string folder) =>
        Directory.GetFiles(Path.Combine(_dir, folder), "sample_*.png").ToDictionary(f => Path.GetFileName(f), File.ReadAllBytes);

    [TestMethod]
    public void ShardsOnTwoBackendsReproduceTheWholeJob()
    {
        string ckpt = Path.Combine(_dir, "digits.ckpt");
        Assert.AreEqual(0, Run("train", "--dataset", "digits", "--steps", "2", "--batch-size", "8", "--base-channels", "16", "--output", ckpt, "--threads", "1"));
        string[] job = ["--count", "6", "--steps", "3", "--classes", "all", "--guidance", "2", "--seed", "11", "--threads", "1"];

        Assert.AreEqual(0, Run(["generate", "-m", ckpt, "-o", Path.Combine(_dir, "whole"), "--batch-size", "4", "--npy", .. job]));
        var whole = Images("whole");
        Assert.HasCount(6, whole);
        Assert.IsTrue(File.Exists(Path.Combine(_dir, "whole", "samples-00000-of-00001.npy")));
        string[] lines = File.ReadAllLines(Path.Combine(_dir, "whole", "manifest-00000-of-00001.jsonl"));
        Assert.HasCount(6, lines);
        StringAssert.Contains(lines[0], "\"sampler\":\"ddim\"");

        foreach (string shard in new[] { "0/2", "1/2" })
            Assert.AreEqual(0, Run(["generate", "-m", ckpt, "-o", Path.Combine(_dir, "sharded"), "--batch-size", "2", "--shard", shard, .. job]));
        var sharded = Images("sharded");
        CollectionAssert.AreEquivalent(whole.Keys.ToList(), sharded.Keys.ToList());
        foreach (var (name, bytes) in whole) CollectionAssert.AreEqual(bytes, sharded[name], name);

        // Batches of 4 with guidance are 8 rows: network calls of 3, 3 and 2 rows give the same images.
        Assert.AreEqual(0, Run(["generate", "-m", ckpt, "-o", Path.Combine(_dir, "sliced"), "--batch-size", "4", "--evaluation-batch", "3", .. job]));
        var sliced = Images("sliced");
        foreach (var (name, bytes) in whole) CollectionAssert.AreEqual(bytes, sliced[name], name);
        Assert.AreEqual(CliApp.InputError, Run(["generate", "-m", ckpt, "-o", Path.Combine(_dir, "zero"), "--evaluation-batch", "0", .. job]));

        Assert.AreEqual(CliApp.InputError, Run(["generate", "-m", ckpt, "-o", Path.Combine(_dir, "whole"), "--count", "6", "--steps", "4", "--classes", "all"]),
            "other settings into the same folder are refused");

        string onnx = Path.Combine(_dir, "digits.onnx");
        Assert.AreEqual(0, Run("export", "-c", ckpt, "-o", onnx));
        Assert.AreEqual(0, Run(["generate", "-m", onnx, "-o", Path.Combine(_dir, "onnx"), .. job]));
        Assert.HasCount(6, Images("onnx"));
        Assert.AreEqual(0, Run(["generate", "-m", onnx, "-o", Path.Combine(_dir, "onnx-sliced"), "--evaluation-batch", "1", .. job]));
        Assert.HasCount(6, Images("onnx-sliced"));
    }
}
