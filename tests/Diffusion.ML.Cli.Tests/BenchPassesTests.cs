using Diffusion.ML.Cli.Benchmarks;

namespace Diffusion.ML.Cli.Tests;

/// <summary><c>bench passes</c>: the timing schedule and table arithmetic, and the command on each kind of zoo network.</summary>
[TestClass]
public sealed class BenchPassesTests
{
    private string _dir = "";

    [TestInitialize]
    public void CreateFolder() => _dir = Directory.CreateTempSubdirectory("dml-passes").FullName;

    [TestCleanup]
    public void DeleteFolder() => Directory.Delete(_dir, recursive: true);

    private static int Run(params string[] args) => CliApp.CreateRootCommand().Parse(args).InvokeAsync().GetAwaiter().GetResult();

    [TestMethod]
    public void EveryPassSizeGetsOneUntimedRunThenInterleavedTimedRuns()
    {
        var calls = new List<int>();
        var timings = PassSizeBenchmark.Measure(new PassSizeBenchmark.Job("job", calls.Add), rows: 10, passSizes: [8, 2, 4], repeats: 2, _ => { });
        CollectionAssert.AreEqual(new[] { 8, 2, 4, 8, 2, 4, 8, 2, 4 }, calls);
        CollectionAssert.AreEqual(new[] { 8, 2, 4 }, timings.Select(t => t.PassSize).ToArray());
        Assert.IsTrue(timings.All(t => t.MillisecondsPerRow.Count == 2 && t.MillisecondsPerRow.All(v => v >= 0)));
        Assert.ThrowsExactly<ArgumentException>(() => PassSizeBenchmark.Measure(new PassSizeBenchmark.Job("job", _ => { }), 10, [8, 0], 1, _ => { }));
        Assert.ThrowsExactly<ArgumentException>(() => PassSizeBenchmark.Measure(new PassSizeBenchmark.Job("job", _ => { }), 10, [], 1, _ => { }));
    }

    [TestMethod]
    public void TheTableReportsMediansRatesAndSpeedAgainstTheFirstPassSize()
    {
        Assert.AreEqual(2.0, new PassSizeBenchmark.Timing(1, [3.0, 1.0, 2.0]).Median);
        Assert.AreEqual(1.5, new PassSizeBenchmark.Timing(1, [2.0, 1.0]).Median);
        string table = PassSizeBenchmark.Markdown("denoiser", 512, [new(512, [4.0, 5.0, 3.0]), new(64, [1.0, 2.0, 1.0])]);
        StringAssert.Contains(table, "denoiser: 512 rows in passes of N rows, median of 3 runs");
        StringAssert.Contains(table, "| 512 | 4.000 | 250.0 | 1.00x | 4.000 / 5.000 / 3.000 |");
        StringAssert.Contains(table, "| 64 | 1.000 | 1000.0 | 4.00x | 1.000 / 2.000 / 1.000 |");
    }

    [TestMethod]
    public void TheCommandTimesDenoisersOnBothBackendsAutoencodersAndFeatureNetworks()
    {
        foreach (var (model, backend, jobs) in new[]
        {
            ("digits-unet", "torch", new[] { "denoiser unet" }),
            ("moons-mlp", "onnx", ["ONNX denoiser"]),
            ("fashion-mnist-vae", "torch", ["autoencoder encode", "autoencoder decode"]),
            ("fashion-mnist-features", "torch", ["feature network"]),
        })
        {
            string markdown = Path.Combine(_dir, $"{model}.md");
            Assert.AreEqual(0, Run("bench", "passes", "-m", model, "--backend", backend, "--offline", "--cache-dir", Path.Combine(_dir, "cache"),
                "--rows", "6", "--pass-sizes", "6,2", "--repeats", "1", "--threads", "1", "--markdown", markdown), model);
            string text = File.ReadAllText(markdown);
            foreach (string job in jobs)
                StringAssert.Contains(text, $"{job}", model);
            Assert.AreEqual(jobs.Length, text.Split('\n').Count(l => l.StartsWith("| 6 |", StringComparison.Ordinal) && l.Contains("| 1.00x |")), model);
            Assert.AreEqual(jobs.Length, text.Split('\n').Count(l => l.StartsWith("| 2 |", StringComparison.Ordinal)), model);
        }
        Assert.AreEqual(CliApp.InputError, Run("bench", "passes", "-m", "fashion-mnist-vae", "--backend", "onnx", "--offline", "--cache-dir", Path.Combine(_dir, "cache")),
            "an autoencoder has no denoiser export");
        Assert.AreEqual(CliApp.InputError, Run("bench", "passes", "-m", "digits-unet", "--offline", "--pass-sizes", "6,0"), "a pass size of 0");
        string onnxFile = Path.Combine(_dir, "model.onnx");
        File.WriteAllText(onnxFile, "not read: the extension is checked first");
        Assert.AreEqual(CliApp.InputError, Run("bench", "passes", "-m", onnxFile), "an ONNX file on the torch backend");
    }
}
