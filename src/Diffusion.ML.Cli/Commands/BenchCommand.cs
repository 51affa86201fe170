using System.CommandLine;
using System.Diagnostics;
using Diffusion.ML.Cli.Benchmarks;
using Diffusion.ML.Data;
using Diffusion.ML.TorchSharp.Modules;
using Diffusion.ML.TorchSharp.Training;
using Spectre.Console;
using TorchSharp;
using static TorchSharp.torch;

namespace Diffusion.ML.Cli.Commands;

/// <summary>
/// <c>diffusion-ml bench</c>: UNet training steps/s or forward evaluations/s of Diffusion.ML (TorchSharp), next to the same
/// network and step in PyTorch measured in the same run, with the ratio.
/// </summary>
internal static class BenchCommand
{
    public static Command Create()
    {
        var mode = new Option<string>("--mode") { Description = "train (DDPM steps) or forward (inference evaluations)", DefaultValueFactory = _ => "train" };
        mode.AcceptOnlyFromAmong("train", "forward");
        var baseChannels = new Option<int>("--base-channels") { Description = "UNet base width", DefaultValueFactory = _ => 64 };
        var attention = new Option<string>("--attention") { Description = "attention resolutions, e.g. 14,7 ('none' for none)", DefaultValueFactory = _ => "14,7" };
        var batch = new Option<int>("--batch-size") { Description = "images per step", DefaultValueFactory = _ => 64 };
        var steps = new Option<int>("--steps") { Description = "timed steps", DefaultValueFactory = _ => 10 };
        var warmup = new Option<int>("--warmup") { Description = "untimed steps first", DefaultValueFactory = _ => 2 };
        var noBaseline = new Option<bool>("--no-baseline") { Description = "skip the PyTorch run" };
        var threads = CommonOptions.Threads();
        var command = new Command("bench", "Measure UNet training or sampling throughput against PyTorch in the same run (28x28x1, 10 classes).")
        {
            mode, baseChannels, attention, batch, steps, warmup, noBaseline, threads,
        };
        command.Subcommands.Add(BenchSamplersCommand.Create());
        command.SetAction((parse, cancellationToken) => CliApp.Run(() =>
        {
            int threadCount = parse.GetValue(threads) > 0 ? parse.GetValue(threads) : Environment.ProcessorCount;
            CommonOptions.PrepareTorch("cpu", threadCount);
            string attentionText = parse.GetValue(attention)! == "none" ? "" : parse.GetValue(attention)!;
            int[] attentionAt = CommonOptions.ParseIntList(attentionText, "--attention");
            int channels = parse.GetValue(baseChannels), batchSize = parse.GetValue(batch);
            bool train = parse.GetValue(mode) == "train";

            var network = new UNet(new UNetOptions { BaseChannels = channels, GroupNormGroups = Math.Min(32, channels), AttentionResolutions = attentionAt, ClassCount = 10 });
            long parameters = network.ParameterCount;
            double ours = train
                ? MeasureTraining(network, batchSize, parse.GetValue(steps), parse.GetValue(warmup))
                : MeasureForward(network, batchSize, parse.GetValue(steps), parse.GetValue(warmup));

            var table = new Table().AddColumns("backend", "parameters", train ? "training images/s" : "evaluations/s", "ratio");
            string ourName = $"Diffusion.ML (TorchSharp {typeof(torch).Assembly.GetName().Version?.ToString(3)}, libtorch-cpu 2.10.0)";
            table.AddRow(Markup.Escape(ourName), $"{parameters:N0}", $"{ours:0.0}", "");
            if (!parse.GetValue(noBaseline))
            {
                var (baseline, problem) = PyTorchBaseline.Run([
                    "--mode", parse.GetValue(mode)!, "--base", $"{channels}", "--attention", attentionText, "--batch", $"{batchSize}",
                    "--steps", $"{parse.GetValue(steps)}", "--warmup", $"{parse.GetValue(warmup)}", "--threads", $"{threadCount}"]);
                if (baseline is null) AnsiConsole.MarkupLine($"[yellow]baseline skipped:[/] {Markup.Escape(problem!)}");
                else
                {
                    table.AddRow(Markup.Escape($"PyTorch {baseline.Torch} eager ({baseline.Threads} threads)"), $"{baseline.Parameters:N0}",
                        $"{baseline.ImagesPerSecond:0.0}", $"{ours / baseline.ImagesPerSecond:0.00}x");
                    if (baseline.Parameters != parameters)
                        AnsiConsole.MarkupLine("[red]warning:[/] the parameter counts differ, so the networks are not the same.");
                }
            }
            AnsiConsole.MarkupLine($"UNet base {channels}, attention at [[{attentionText}]], batch {batchSize}, {threadCount} threads, {parse.GetValue(steps)} timed steps");
            AnsiConsole.Write(table);
            return 0;
        }, cancellationToken));
        return command;
    }

    /// <summary>Images per second of <see cref="DdpmTrainer.TrainStep"/> (noise, forward, backward, AdamW, clipping, EMA).</summary>
    private static double MeasureTraining(UNet network, int batch, int steps, int warmup)
    {
        var rng = new Random(0);
        int count = batch * 4;
        var pixels = new float[count * 28 * 28];
        for (int i = 0; i < pixels.Length; i++) pixels[i] = (float)(rng.NextDouble() * 2 - 1);
        var data = new ImageDataset(count, 1, 28, 28, pixels, Enumerable.Range(0, count).Select(i => i % 10).ToArray(), 10);
        using var trainer = new DdpmTrainer(network, data, new DdpmTrainerOptions { BatchSize = batch, WarmupSteps = 0, EmaDecay = 0.999 });
        for (int i = 0; i < warmup; i++) trainer.TrainStep();
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < steps; i++) trainer.TrainStep();
        return steps * batch / clock.Elapsed.TotalSeconds;
    }

    /// <summary>Network evaluations per second in inference mode (what a sampler pays per step and image).</summary>
    private static double MeasureForward(UNet network, int batch, int steps, int warmup)
    {
        network.eval();
        using var x = randn(batch, 1, 28, 28);
        using var t = randint(0, 1000, batch).to_type(ScalarType.Float32);
        using var y = randint(0, 10, batch);
        using var mode = inference_mode();
        for (int i = 0; i < warmup; i++) network.call(x, t, y).Dispose();
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < steps; i++) network.call(x, t, y).Dispose();
        return steps * batch / clock.Elapsed.TotalSeconds;
    }
}
