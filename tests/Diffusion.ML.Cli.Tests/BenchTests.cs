using Diffusion.ML.Cli.Benchmarks;
using Diffusion.ML.Cli.Commands;

namespace Diffusion.ML.Cli.Tests;

/// <summary>The benchmark machinery: FLOP counts, in-process measurements and the suite's table arithmetic.</summary>
[TestClass]
public sealed class BenchTests
{
    [TestMethod]
    public void ForwardFlopsOfTheReferenceUNetsMatchTheIndependentCount()
    {
        // Counted independently with PyTorch forward hooks on the PyTorch mirror of the UNet (torch_unet_baseline.py), the
        // same convention: 2,435,202,048 FLOP per image for base 64 with attention at 14 and 7, 554,397,184 for base 32 with
        // attention at 7 (the zoo model). ../shared/notes/cpu-first.md quotes 2.33 G for base 64 by an unstated convention.
        var reference = new BenchmarkCase { BaseChannels = 64, Attention = [14, 7] };
        using (var network = UNetBenchmarks.CreateNetwork(reference))
        {
            Assert.AreEqual(2_435_202_048, FlopCounter.ForwardPerSample(network), 1e3);
            Assert.AreEqual(2_435_202_048, FlopCounter.ForwardPerSample(network), 1e3, "the hooks of the first count are gone");
        }
        using (var network = UNetBenchmarks.CreateNetwork(reference with { BaseChannels = 32, Attention = [7] }))
            Assert.AreEqual(554_397_184, FlopCounter.ForwardPerSample(network), 1e3);
    }

    [TestMethod]
    public void ForwardAndDdimAreMeasuredOnBothBackendsWithTheSameNetwork()
    {
        var tiny = new BenchmarkCase { BaseChannels = 8, Attention = [], Batch = 2, Steps = 1, Warmup = 0, SamplingSteps = 2, Threads = 1 };
        long parameters;
        using (var network = UNetBenchmarks.CreateNetwork(tiny)) parameters = network.ParameterCount;
        foreach (var backend in new[] { BenchmarkBackend.TorchSharp, BenchmarkBackend.OnnxRuntime })
            foreach (var mode in new[] { BenchmarkMode.Forward, BenchmarkMode.Ddim })
            {
                var measurement = BenchCommand.Measure(tiny with { Mode = mode, Backend = backend });
                Assert.IsGreaterThan(0.0, measurement.Rate, $"{mode} on {backend}");
                Assert.AreEqual(parameters, measurement.Parameters);
                Assert.IsGreaterThan(0L, measurement.PeakWorkingSetBytes);
            }
    }

    [TestMethod]
    public void TheSuiteTableComputesRatiosAndShareOfPeakFromTheRows()
    {
        var forward = new BenchmarkCase { Mode = BenchmarkMode.Forward, BaseChannels = 8, Attention = [], Batch = 4 };
        var sgemm = forward with { Mode = BenchmarkMode.Sgemm };
        BenchmarkSuite.Row Row(BenchmarkCase c, BenchmarkBackend backend, double rate) =>
            new(c with { Backend = backend }, new BenchmarkMeasurement(rate, 1, 1_000_000, backend.ToString(), 2), null);
        string table = BenchmarkSuite.Markdown(
        [
            Row(sgemm, BenchmarkBackend.TorchSharp, 100),
            Row(forward, BenchmarkBackend.TorchSharp, 20),
            Row(forward, BenchmarkBackend.OnnxRuntime, 30),
            Row(forward, BenchmarkBackend.PyTorch, 10),
            new(forward with { Mode = BenchmarkMode.Train, Backend = BenchmarkBackend.PyTorch }, null, "python3 failed"),
        ], threads: 2);
        using var network = UNetBenchmarks.CreateNetwork(forward);
        double gflops = 20 * FlopCounter.ForwardPerSample(network) / 1e9;
        string[] lines = table.Split('\n');
        string torchRow = lines.Single(l => l.StartsWith("| forward UNet-8 b4 | TorchSharp", StringComparison.Ordinal));
        StringAssert.Contains(torchRow, "2.00x PyTorch");
        StringAssert.Contains(torchRow, $"| {gflops:0.0} | {gflops:0}% |".Replace(',', '.'));
        StringAssert.Contains(lines.Single(l => l.Contains("| OnnxRuntime |", StringComparison.Ordinal)), "1.50x TorchSharp");
        StringAssert.Contains(table, "sgemm peak of this run: 100.0 GFLOP/s");
        StringAssert.Contains(table, "not measured: python3 failed");
    }

    [TestMethod]
    public void OpenBlasOwnKernelRowIsThePeakAndTheTorchSharpSgemmIsComparedWithTheForcedKernel()
    {
        var sgemm = new BenchmarkCase { Mode = BenchmarkMode.Sgemm, Matrix = 64 };
        BenchmarkSuite.Row Row(BenchmarkCase c, BenchmarkBackend backend, double rate) =>
            new(c with { Backend = backend }, new BenchmarkMeasurement(rate, 0, 1_000_000, backend.ToString(), 2), null);
        string table = BenchmarkSuite.Markdown(
        [
            Row(sgemm, BenchmarkBackend.TorchSharp, 120),
            Row(sgemm, BenchmarkBackend.PyTorch, 100),
            Row(sgemm with { OpenBlasOwnKernel = true }, BenchmarkBackend.PyTorch, 300),
        ], threads: 2);
        StringAssert.Contains(table, "sgemm peak of this run: 300.0 GFLOP/s");
        string[] lines = table.Split('\n');
        StringAssert.Contains(lines.Single(l => l.StartsWith("| sgemm 64x64 | TorchSharp", StringComparison.Ordinal)), "| 40% |");
        StringAssert.Contains(lines.Single(l => l.StartsWith("| sgemm 64x64 | TorchSharp", StringComparison.Ordinal)), "1.20x PyTorch");
        Assert.ContainsSingle(lines.Where(l => l.StartsWith("| sgemm 64x64, OpenBLAS's own kernel | PyTorch", StringComparison.Ordinal)));
        CollectionAssert.Contains(BenchmarkSuite.Cases(quick: false, threads: 2).Where(c => c.Mode == BenchmarkMode.Sgemm).Select(c => c.OpenBlasOwnKernel).ToList(), true);
    }

    [TestMethod]
    public void BothSidesOfACaseRunOnItsDevice()
    {
        var onGpu = new BenchmarkCase { Device = "cuda:1", Python = "/opt/torch/.venv/bin/python3" };
        foreach (var arguments in new[] { onGpu.ToCliArguments(), onGpu.ToPythonArguments() })
        {
            int at = arguments.ToList().IndexOf("--device");
            Assert.IsGreaterThanOrEqualTo(0, at);
            Assert.AreEqual("cuda:1", arguments[at + 1]);
        }
        StringAssert.EndsWith(onGpu.Label, " on cuda:1");
        Assert.AreEqual("/usr/bin/python3", new BenchmarkCase().Python, "Debian's python3-torch by default");
        var (measurement, problem) = BenchmarkProcess.Run(onGpu with { Backend = BenchmarkBackend.PyTorch, Python = "/no/such/python3" });
        Assert.IsNull(measurement);
        StringAssert.Contains(problem, "--python");
    }
}
