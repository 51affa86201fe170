using System.Globalization;
using System.Text;
using Diffusion.ML.TorchSharp.Modules;

namespace Diffusion.ML.Cli.Benchmarks;

/// <summary>The cases of <c>bench suite</c> and the table of their results.</summary>
internal static class BenchmarkSuite
{
    /// <summary>One case with its measurement, or the reason it has none.</summary>
    public sealed record Row(BenchmarkCase Case, BenchmarkMeasurement? Measurement, string? Problem);

    /// <summary>
    /// The cases in order. Step counts give each timed segment a few hundred images (about 30 s of the reference UNet's
    /// training on two cores); DDIM at batch 64 is timed over one whole 20-step run (2,560 network evaluations) without an
    /// untimed run first.
    /// </summary>
    public static IEnumerable<BenchmarkCase> Cases(bool quick, int threads)
    {
        BenchmarkBackend[] all = [BenchmarkBackend.TorchSharp, BenchmarkBackend.OnnxRuntime, BenchmarkBackend.PyTorch];
        BenchmarkBackend[] training = [BenchmarkBackend.TorchSharp, BenchmarkBackend.PyTorch];
        var reference = new BenchmarkCase { BaseChannels = 64, Attention = [14, 7], Threads = threads };
        var small = reference with { BaseChannels = 32, Attention = [7] };
        if (quick)
        {
            var tiny = small with { Batch = 8, Steps = 1, Warmup = 1, SamplingSteps = 4, Matrix = 512 };
            foreach (var mode in Enum.GetValues<BenchmarkMode>())
                foreach (var backend in mode is BenchmarkMode.Train or BenchmarkMode.Sgemm ? training : all)
                    yield return tiny with { Mode = mode, Backend = backend };
            yield break;
        }
        foreach (var backend in training)
            yield return reference with { Mode = BenchmarkMode.Sgemm, Backend = backend, Matrix = 2048, Steps = 10, Warmup = 2 };
        yield return reference with { Mode = BenchmarkMode.Sgemm, Backend = BenchmarkBackend.PyTorch, Matrix = 2048, Steps = 10, Warmup = 2, OpenBlasOwnKernel = true };
        foreach (var network in new[] { reference, small })
            foreach (int batch in new[] { 32, 64, 128 })
                foreach (var backend in training)
                    yield return network with { Mode = BenchmarkMode.Train, Backend = backend, Batch = batch, Steps = Math.Max(3, 512 / batch), Warmup = 1 };
        foreach (int batch in new[] { 1, 16, 64 })
            foreach (var backend in all)
                yield return reference with { Mode = BenchmarkMode.Forward, Backend = backend, Batch = batch, Steps = Math.Max(3, 128 / batch), Warmup = 2 };
        foreach (int batch in new[] { 1, 64 })
            foreach (var backend in all)
                yield return reference with { Mode = BenchmarkMode.Ddim, Backend = backend, Batch = batch, Steps = batch == 1 ? 3 : 1, Warmup = batch == 1 ? 1 : 0 };
    }

    /// <summary>
    /// The results as Markdown: rate, achieved GFLOP/s (forward FLOPs from <see cref="FlopCounter"/>, x3 for training,
    /// x evaluations per image for DDIM), its share of the best sgemm rate measured in the run, the peak working set and
    /// the ratio (TorchSharp / PyTorch on TorchSharp rows, ONNX Runtime / TorchSharp on ONNX Runtime rows).
    /// </summary>
    public static string Markdown(IReadOnlyList<Row> rows, int threads)
    {
        var flops = new Dictionary<(int, string), double>();
        double ForwardFlops(BenchmarkCase c)
        {
            var key = (c.BaseChannels, string.Join(',', c.Attention));
            if (!flops.TryGetValue(key, out double f))
            {
                using var network = UNetBenchmarks.CreateNetwork(c);
                flops[key] = f = FlopCounter.ForwardPerSample(network);
            }
            return f;
        }
        double peak = rows.Where(r => r.Case.Mode == BenchmarkMode.Sgemm && r.Measurement is not null).Select(r => r.Measurement!.Rate).DefaultIfEmpty(0).Max();
        double? Find(BenchmarkCase c, BenchmarkBackend backend) =>
            rows.FirstOrDefault(r => r.Case == c with { Backend = backend })?.Measurement?.Rate;

        var text = new StringBuilder();
        text.AppendLine(Invariant($"`diffusion-ml bench suite`, {DateTime.UtcNow:yyyy-MM-dd}, {MachineDescription()}, {threads} threads."));
        text.AppendLine(Invariant($"Runtimes: {string.Join("; ", rows.Select(r => r.Measurement?.Runtime).OfType<string>().Distinct())}."));
        text.AppendLine(peak > 0 ? Invariant($"sgemm peak of this run: {peak:0.0} GFLOP/s (the best sgemm row; OpenBLAS's own kernel runs without OPENBLAS_CORETYPE).") : "No sgemm measured: no share of peak.");
        text.AppendLine("bf16 autocast: not measured; TorchSharp 0.107 has no autocast (no binding of torch.autocast), so training is fp32.");
        text.AppendLine();
        text.AppendLine("| case | backend | rate | GFLOP/s | of sgemm peak | peak working set | ratio |");
        text.AppendLine("|---|---|---|---|---|---|---|");
        foreach (var row in rows)
        {
            var c = row.Case;
            if (row.Measurement is not { } m)
            {
                text.AppendLine($"| {c.Label} | {c.Backend} | not measured: {row.Problem?.Replace('|', '/')} | | | | |");
                continue;
            }
            double gflops = c.Mode == BenchmarkMode.Sgemm
                ? m.Rate
                : m.Rate * ForwardFlops(c) * (c.Mode == BenchmarkMode.Train ? 3 : c.EvaluationsPerUnit) / 1e9;
            double? reference = c.Backend switch
            {
                BenchmarkBackend.TorchSharp => Find(c, BenchmarkBackend.PyTorch),
                BenchmarkBackend.OnnxRuntime => Find(c, BenchmarkBackend.TorchSharp),
                _ => null,
            };
            string ratio = reference is > 0 ? Invariant($"{m.Rate / reference.Value:0.00}x {(c.Backend == BenchmarkBackend.TorchSharp ? "PyTorch" : "TorchSharp")}") : "";
            string share = peak > 0 ? Invariant($"{100 * gflops / peak:0}%") : "";
            text.AppendLine(Invariant($"| {c.Label} | {c.Backend} | {m.Rate:0.0} {c.Unit} | {gflops:0.0} | {share} | {m.PeakWorkingSetBytes / 1e6:0} MB | {ratio} |"));
        }
        return text.ToString();
    }

    /// <summary>"2 x Intel(R) Xeon(R) Processor" from /proc/cpuinfo where it exists.</summary>
    private static string MachineDescription()
    {
        string model = File.Exists("/proc/cpuinfo")
            ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown CPU"
            : "unknown CPU";
        return $"{Environment.ProcessorCount} x {model}";
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
