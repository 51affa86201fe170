using System.CommandLine;
using Diffusion.ML.Sampling;
using Diffusion.ML.TorchSharp.Sampling;
using Diffusion.ML.TorchSharp.Training;
using Spectre.Console;

namespace Diffusion.ML.Cli.Commands;

/// <summary><c>diffusion-ml sample</c>: generates images (or points) from a checkpoint with DDPM or DDIM.</summary>
internal static class SampleCommand
{
    public static Command Create()
    {
        var checkpoint = new Option<string>("--checkpoint", "-c") { Description = "checkpoint written by train", Required = true };
        var sampling = new SamplingArguments(defaultCount: 16);
        var outputDir = new Option<string>("--output", "-o") { Description = "output folder", DefaultValueFactory = _ => "generated" };
        var columns = new Option<int?>("--grid-columns") { Description = "images per grid row (default: square)" };
        var noSingles = new Option<bool>("--grid-only") { Description = "write only the grid, not one PNG per sample" };
        var raw = new Option<bool>("--raw-weights") { Description = "use the trained weights instead of their EMA" };
        var device = CommonOptions.Device();
        var threads = CommonOptions.Threads();

        var command = new Command("sample", "Generate samples from a checkpoint and write a PNG grid and single PNGs.")
        {
            checkpoint, outputDir, columns, noSingles, raw, device, threads,
        };
        foreach (var option in sampling.All) command.Options.Add(option);
        command.SetAction((parse, cancellationToken) => CliApp.Run(() =>
        {
            var torchDevice = CommonOptions.PrepareTorch(parse.GetValue(device)!, parse.GetValue(threads));
            var ckpt = Checkpoint.Load(parse.GetValue(checkpoint)!);
            using var network = ckpt.LoadNetwork(useEma: !parse.GetValue(raw), torchDevice);
            var denoiser = new TorchSharpDenoiser(network, ckpt.Manifest.Trainer.PredictionType, torchDevice);
            var options = sampling.CreateOptions(parse, denoiser.ClassCount);
            string written = Generate(denoiser, ckpt.CreateSchedule(), sampling.CreateSampler(parse), options,
                parse.GetValue(outputDir)!, parse.GetValue(columns), !parse.GetValue(noSingles), cancellationToken);
            if (ckpt.Manifest.ClassNames is { } names && options.ClassLabels is { } labels)
                AnsiConsole.MarkupLine($"classes: {Markup.Escape(string.Join(", ", labels.Distinct().Select(l => $"{l}={names[l]}")))}");
            AnsiConsole.MarkupLine($"[green]wrote[/] {Markup.Escape(written)}");
            return 0;
        }, cancellationToken));
        return command;
    }

    /// <summary>Runs the sampling loop with a progress display and writes the outputs.</summary>
    internal static string Generate(IDenoiser denoiser, Schedules.NoiseSchedule schedule, ISampler sampler, GenerationOptions options,
        string outputDir, int? columns, bool singles, CancellationToken cancellationToken)
    {
        float[] samples = GenerateWithProgress(denoiser, schedule, sampler, options, cancellationToken);
        return SampleOutput.Write(outputDir, samples, denoiser.SampleShape, options.FirstIndex, columns, singles);
    }

    /// <summary>Runs the sampling loop with a progress display; returns the samples in [-1, 1].</summary>
    internal static float[] GenerateWithProgress(IDenoiser denoiser, Schedules.NoiseSchedule schedule, ISampler sampler, GenerationOptions options,
        CancellationToken cancellationToken)
    {
        var pipeline = new DiffusionPipeline(denoiser, schedule);
        float[] samples = [];
        int stepsPerBatch = options.Timesteps?.Count ?? options.NumInferenceSteps;
        int batches = (options.Count + options.BatchSize - 1) / options.BatchSize;
        ConsoleProgress.Run($"{sampler.Name}", (double)batches * stepsPerBatch, update =>
        {
            var started = DateTime.UtcNow;
            samples = pipeline.Generate(sampler, options, new InlineProgress<GenerationProgress>(p =>
            {
                double done = (double)p.SamplesDone / options.BatchSize * p.Steps + p.Step;
                double perSecond = (p.SamplesDone + (double)p.BatchSize * p.Step / p.Steps) / Math.Max((DateTime.UtcNow - started).TotalSeconds, 1e-9);
                update(done, $"{p.SamplesDone + p.BatchSize}/{p.SamplesTotal} samples, step {p.Step}/{p.Steps}, {perSecond:0.00} samples/s");
            }), cancellationToken);
        });
        return samples;
    }
}
