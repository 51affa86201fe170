using System.CommandLine;
using System.Diagnostics;
using Diffusion.ML.Cli.Benchmarks;
using Spectre.Console;
using TorchSharp;

namespace Diffusion.ML.Cli.Commands;

/// <summary>
/// <c>diffusion-ml bench</c>: one measurement (UNet training, forward, DDIM with guidance, or sgemm) on TorchSharp or ONNX
/// Runtime, next to the same case in PyTorch measured in the same run, with the ratio. <c>bench suite</c> runs them all.
/// </summary>
internal static class BenchCommand
{
    public static Command Create()
    {
        var mode = new Option<string>("--mode") { Description = "train (DDPM steps), forward (evaluations), ddim (sampling with guidance) or sgemm", DefaultValueFactory = _ => "train" };
        mode.AcceptOnlyFromAmong("train", "forward", "ddim", "sgemm");
        var backend = new Option<string>("--backend") { Description = "torch (TorchSharp) or onnx (ONNX Runtime; forward and ddim only)", DefaultValueFactory = _ => "torch" };
        backend.AcceptOnlyFromAmong("torch", "onnx");
        var baseChannels = new Option<int>("--base-channels") { Description = "UNet base width", DefaultValueFactory = _ => 64 };
        var attention = new Option<string>("--attention") { Description = "attention resolutions, e.g. 14,7 ('none' for none)", DefaultValueFactory = _ => "14,7" };
        var batch = new Option<int>("--batch-size") { Description = "images per step", DefaultValueFactory = _ => 64 };
        var steps = new Option<int>("--steps") { Description = "timed steps (whole sampling runs for ddim)", DefaultValueFactory = _ => 10 };
        var warmup = new Option<int>("--warmup") { Description = "untimed steps first", DefaultValueFactory = _ => 2 };
        var samplingSteps = new Option<int>("--sampling-steps") { Description = "DDIM steps per image (ddim)", DefaultValueFactory = _ => 20 };
        var guidance = new Option<double>("--guidance") { Description = "classifier-free guidance scale (ddim; 1 = none)", DefaultValueFactory = _ => 2.0 };
        var matrix = new Option<int>("--matrix") { Description = "matrix size (sgemm)", DefaultValueFactory = _ => 2048 };
        var noBaseline = new Option<bool>("--no-baseline") { Description = "skip the PyTorch run" };
        var json = new Option<bool>("--json") { Description = "print the measurement as one JSON line (used by bench suite)" };
        var threads = CommonOptions.Threads();
        var device = new Option<string>("--device") { Description = "cpu, cuda or cuda:N, for TorchSharp and the PyTorch baseline (CUDA needs the GPU build, see docs/gpu.md)", DefaultValueFactory = _ => "cpu" };
        var python = new Option<string>("--python") { Description = "interpreter of the PyTorch baseline, one with torch", DefaultValueFactory = _ => "/usr/bin/python3" };
        var command = new Command("bench", "Measure UNet training, forward, DDIM or sgemm throughput against PyTorch in the same run (28x28x1, 10 classes).")
        {
            mode, backend, baseChannels, attention, batch, steps, warmup, samplingSteps, guidance, matrix, noBaseline, json, threads, device, python,
        };
        command.Subcommands.Add(BenchSamplersCommand.Create());
        command.Subcommands.Add(BenchSuiteCommand.Create());
        command.Subcommands.Add(BenchMemoryCommand.Create());
        command.Subcommands.Add(BenchPassesCommand.Create());
        command.SetAction((parse, cancellationToken) => CliApp.Run(() =>
        {
            string attentionText = parse.GetValue(attention)! == "none" ? "" : parse.GetValue(attention)!;
            var benchmark = new BenchmarkCase
            {
                Mode = Enum.Parse<BenchmarkMode>(parse.GetValue(mode)!, ignoreCase: true),
                Backend = parse.GetValue(backend) == "onnx" ? BenchmarkBackend.OnnxRuntime : BenchmarkBackend.TorchSharp,
                BaseChannels = parse.GetValue(baseChannels),
                Attention = CommonOptions.ParseIntList(attentionText, "--attention"),
                Batch = parse.GetValue(batch),
                Steps = parse.GetValue(steps),
                Warmup = parse.GetValue(warmup),
                SamplingSteps = parse.GetValue(samplingSteps),
                Guidance = parse.GetValue(guidance),
                Matrix = parse.GetValue(matrix),
                Threads = parse.GetValue(threads) > 0 ? parse.GetValue(threads) : Environment.ProcessorCount,
                Device = DeviceName(CommonOptions.PrepareTorch(parse.GetValue(device)!, parse.GetValue(threads))),
                Python = parse.GetValue(python)!,
            };
            if (benchmark.Backend == BenchmarkBackend.OnnxRuntime && benchmark.Device != "cpu")
                throw new ArgumentException("bench measures ONNX Runtime on the CPU only: drop --device or use --backend torch.");
            if (benchmark.Backend == BenchmarkBackend.OnnxRuntime && benchmark.Mode is BenchmarkMode.Train or BenchmarkMode.Sgemm)
                throw new ArgumentException("--backend onnx measures inference only: use it with --mode forward or --mode ddim.");
            if (benchmark.Batch < 1 || benchmark.Steps < 1 || benchmark.Warmup < 0 || benchmark.SamplingSteps < 1 || benchmark.Matrix < 1)
                throw new ArgumentException("--batch-size, --steps, --sampling-steps and --matrix must be positive, --warmup non-negative.");

            var measurement = Measure(benchmark);
            if (parse.GetValue(json))
            {
                Console.WriteLine(BenchmarkProcess.ToJson(measurement));
                return 0;
            }
            var table = new Table().AddColumns("backend", "parameters", benchmark.Unit, "peak working set", "ratio");
            table.AddRow(Markup.Escape(measurement.Runtime), $"{measurement.Parameters:N0}", $"{measurement.Rate:0.0}", Megabytes(measurement.PeakWorkingSetBytes), "");
            if (!parse.GetValue(noBaseline))
            {
                var (baseline, problem) = BenchmarkProcess.Run(benchmark with { Backend = BenchmarkBackend.PyTorch });
                if (baseline is null) AnsiConsole.MarkupLine($"[yellow]baseline skipped:[/] {Markup.Escape(problem!)}");
                else
                {
                    table.AddRow(Markup.Escape($"{baseline.Runtime} ({baseline.Threads} threads)"), $"{baseline.Parameters:N0}", $"{baseline.Rate:0.0}",
                        Megabytes(baseline.PeakWorkingSetBytes), $"{measurement.Rate / baseline.Rate:0.00}x");
                    if (baseline.Parameters != measurement.Parameters)
                        AnsiConsole.MarkupLine("[red]warning:[/] the parameter counts differ, so the networks are not the same.");
                }
            }
            AnsiConsole.MarkupLine(Markup.Escape($"{benchmark.Label}, attention at [{attentionText}], {benchmark.Threads} CPU threads, {benchmark.Steps} timed steps"));
            AnsiConsole.Write(table);
            return 0;
        }, cancellationToken));
        return command;
    }

    /// <summary>Runs a TorchSharp or ONNX Runtime case in this process.</summary>
    public static BenchmarkMeasurement Measure(BenchmarkCase benchmark)
    {
        var device = CommonOptions.PrepareTorch(benchmark.Device, benchmark.Threads);
        string torchSharp = $"Diffusion.ML on TorchSharp {typeof(torch).Assembly.GetName().Version?.ToString(3)}{(device.type == DeviceType.CUDA ? $" ({device})" : "")}";
        if (benchmark.Mode == BenchmarkMode.Sgemm)
            return Finish(UNetBenchmarks.Sgemm(benchmark, device), 0, torchSharp, benchmark);
        using var network = UNetBenchmarks.CreateNetwork(benchmark);
        long parameters = network.ParameterCount;
        if (benchmark.Backend == BenchmarkBackend.OnnxRuntime)
        {
            double rate = OnnxRuntimeBenchmarks.Run(network, benchmark, denoiser =>
                benchmark.Mode == BenchmarkMode.Forward ? UNetBenchmarks.Forward(denoiser, benchmark) : UNetBenchmarks.Ddim(denoiser, benchmark));
            return Finish(rate, parameters, $"Diffusion.ML on ONNX Runtime {OnnxRuntimeBenchmarks.Version}", benchmark);
        }
        double measured = benchmark.Mode switch
        {
            BenchmarkMode.Train => UNetBenchmarks.Train(network, benchmark, device),
            BenchmarkMode.Forward => UNetBenchmarks.Forward(UNetBenchmarks.TorchSharpDenoiser(network, device), benchmark),
            _ => UNetBenchmarks.Ddim(UNetBenchmarks.TorchSharpDenoiser(network, device), benchmark),
        };
        return Finish(measured, parameters, torchSharp, benchmark);
    }

    private static BenchmarkMeasurement Finish(double rate, long parameters, string runtime, BenchmarkCase benchmark)
    {
        using var self = Process.GetCurrentProcess();
        return new BenchmarkMeasurement(rate, parameters, self.PeakWorkingSet64, runtime, benchmark.Threads);
    }

    /// <summary>"cpu" or "cuda:N": a name PyTorch reads too ("auto" resolved).</summary>
    private static string DeviceName(torch.Device device) => device.type == DeviceType.CUDA ? $"cuda:{Math.Max(0, (int)device.index)}" : "cpu";

    /// <summary>Bytes as "123 MB".</summary>
    public static string Megabytes(long bytes) => $"{bytes / 1e6:N0} MB";
}
