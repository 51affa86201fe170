using System.CommandLine;
using Diffusion.ML.Cli.Benchmarks;
using Diffusion.ML.Data;
using Spectre.Console;

namespace Diffusion.ML.Cli.Commands;

/// <summary>
/// <c>diffusion-ml bench suite</c>: every CPU figure of the speed issue in one run, each case in a fresh process: the
/// sgemm peak (libtorch and PyTorch), DDPM training of the reference UNet (base 64) and of base 32 at batch 32/64/128,
/// denoiser forward at batch 1/16/64, and DDIM-20 with classifier-free guidance at batch 1 and 64 on TorchSharp, ONNX
/// Runtime and PyTorch. Prints rates, achieved GFLOP/s against the measured sgemm peak, peak working sets and the ratios
/// TorchSharp / PyTorch and ONNX Runtime / TorchSharp, as a Markdown table.
/// </summary>
internal static class BenchSuiteCommand
{
    public static Command Create()
    {
        var quick = new Option<bool>("--quick") { Description = "a smoke run: base-32 UNet only, batch 8, one timed step per case" };
        var only = new Option<string?>("--only") { Description = "comma-separated modes to run: sgemm, train, forward, ddim (default: all)" };
        var noBaseline = new Option<bool>("--no-baseline") { Description = "skip the PyTorch runs" };
        var markdown = new Option<string?>("--markdown") { Description = "also write the table to this Markdown file" };
        var threads = CommonOptions.Threads();
        var command = new Command("suite", "Run every CPU benchmark (sgemm, training, forward, DDIM-20 with guidance) against PyTorch and ONNX Runtime; Markdown table.")
        {
            quick, only, noBaseline, markdown, threads,
        };
        command.SetAction((parse, cancellationToken) => CliApp.Run(() =>
        {
            int threadCount = parse.GetValue(threads) > 0 ? parse.GetValue(threads) : Environment.ProcessorCount;
            var modes = parse.GetValue(only) is { } list
                ? list.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(ParseMode).ToHashSet()
                : Enum.GetValues<BenchmarkMode>().ToHashSet();
            var cases = BenchmarkSuite.Cases(parse.GetValue(quick), threadCount)
                .Where(c => modes.Contains(c.Mode) && !(parse.GetValue(noBaseline) && c.Backend == BenchmarkBackend.PyTorch))
                .ToList();
            CommonOptions.PrepareTorch("cpu", threadCount);
            var results = new List<BenchmarkSuite.Row>();
            foreach (var benchmark in cases)
            {
                cancellationToken.ThrowIfCancellationRequested();
                AnsiConsole.MarkupLine($"[grey]{Markup.Escape($"{benchmark.Label} on {benchmark.Backend} ...")}[/]");
                var (measurement, problem) = BenchmarkProcess.Run(benchmark);
                if (measurement is null) AnsiConsole.MarkupLine($"[yellow]skipped:[/] {Markup.Escape(problem!)}");
                results.Add(new BenchmarkSuite.Row(benchmark, measurement, problem));
            }
            string table = BenchmarkSuite.Markdown(results, threadCount);
            Console.WriteLine(table);
            if (parse.GetValue(markdown) is { } path)
                AtomicFile.WriteAllText(path, table);
            return results.Any(r => r.Measurement is null && r.Case.Backend != BenchmarkBackend.PyTorch) ? 1 : 0;
        }, cancellationToken));
        return command;
    }

    private static BenchmarkMode ParseMode(string text) =>
        Enum.TryParse<BenchmarkMode>(text, ignoreCase: true, out var mode)
            ? mode
            : throw new ArgumentException($"--only takes sgemm, train, forward or ddim; got '{text}'.");
}
