using System.Diagnostics;
using Diffusion.ML.Data;

namespace Diffusion.ML.MLNet.Tests;

/// <summary>
/// samples/FashionMnistPipeline, run as two processes: train (quick preset) writes a generator zip and PNGs; generate
/// loads the zip in a fresh process and must write byte-identical PNGs for the same seed.
/// </summary>
[TestClass]
public sealed class SampleAppTests
{
    private string _dir = "";

    [TestInitialize]
    public void CreateFolder() => _dir = Directory.CreateTempSubdirectory("dml-mlnet-sample").FullName;

    [TestCleanup]
    public void DeleteFolder() => Directory.Delete(_dir, recursive: true);

    [TestMethod]
    public void ASecondProcessLoadsTheSavedGeneratorAndWritesTheSamePngs()
    {
        if (!File.Exists(Path.Combine(FashionMnist.DefaultDirectory, "train-images-idx3-ubyte.gz")))
            Assert.Inconclusive($"Fashion-MNIST is not installed in {FashionMnist.DefaultDirectory} (apt install dataset-fashion-mnist).");
        string trained = Path.Combine(_dir, "run"), again = Path.Combine(_dir, "again");
        Run("train", "--preset", "quick", "--out", trained, "--count", "12", "--seed", "7", "--sampler-steps", "4");
        Run("generate", "--model", Path.Combine(trained, "generator.zip"), "--out", again, "--count", "12", "--seed", "7");

        var first = Directory.GetFiles(Path.Combine(trained, "images"), "*.png").Order().ToArray();
        var second = Directory.GetFiles(again, "*.png").Order().ToArray();
        CollectionAssert.AreEqual(Enumerable.Range(0, 12).Select(i => $"image_{i:D6}.png").Append("grid.png").Order().ToArray(),
            first.Select(Path.GetFileName).ToArray());
        CollectionAssert.AreEqual(first.Select(Path.GetFileName).ToArray(), second.Select(Path.GetFileName).ToArray());
        for (int i = 0; i < first.Length; i++)
            CollectionAssert.AreEqual(File.ReadAllBytes(first[i]), File.ReadAllBytes(second[i]), $"{Path.GetFileName(first[i])} differs between the processes");
        // Not a blank output: the decoded images vary between samples.
        Assert.AreNotEqual(Convert.ToHexString(File.ReadAllBytes(first[0])), Convert.ToHexString(File.ReadAllBytes(first[1])));
    }

    /// <summary>Runs the sample's build output (same configuration as this test assembly) and fails with its output on a non-zero exit.</summary>
    private static void Run(params string[] args)
    {
        var testBin = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)); // tests/X/bin/<Configuration>/<tfm>
        string configuration = testBin.Parent!.Name, framework = testBin.Name;
        var root = testBin;
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "Diffusion.ML.sln"))) root = root.Parent;
        Assert.IsNotNull(root, "the repository root (Diffusion.ML.sln) is not above the test's output folder");
        string dll = Path.Combine(root.FullName, "samples", "FashionMnistPipeline", "bin", configuration, framework, "FashionMnistPipeline.dll");
        Assert.IsTrue(File.Exists(dll), $"{dll} is missing; build the solution first");

        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(dll);
        foreach (var a in args) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        string stdout = process.StandardOutput.ReadToEnd();
        Assert.IsTrue(process.WaitForExit(TimeSpan.FromMinutes(5)), $"{args[0]} did not finish in 5 minutes");
        Assert.AreEqual(0, process.ExitCode, $"{args[0]} failed:\n{stdout}\n{stderr.Result}");
    }
}
