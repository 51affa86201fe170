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
        var sampler = new Option<string>("--sampler") { Description = "sampler", DefaultValueFactory = _ => "ddim" };
        sampler.AcceptOnlyFromAmong([.. Samplers.Names]);
        var steps = new Option<int>("--steps") { Description = "inference steps", DefaultValueFactory = _ => 50 };
        var eta = new Option<double>("--eta") { Description = "DDIM eta (0 = deterministic)", DefaultValueFactory = _ => 0 };
        var spacing = new Option<TimestepSpacing>("--spacing") { Description = "timestep spacing", DefaultValueFactory = _ => TimestepSpacing.Leading };
        var timesteps = new Option<string?>("--timesteps") { Description = "explicit descending timesteps, e.g. 999,750,500,250,0 (overrides --steps)" };
        var guidance = new Option<double>("--guidance") { Description = "classifier-free guidance scale (1 = off)", DefaultValueFactory = _ => 1 };
        var classes = new Option<string?>("--classes") { Description = "class labels cycled over the samples, e.g. 0,1,2 or 'all'" };
        var count = new Option<int>("--count", "-n") { Description = "number of samples", DefaultValueFactory = _ => 16 };
        var firstIndex = new Option<long>("--first-index") { Description = "index of the first sample (to split a job into shards)", DefaultValueFactory = _ => 0 };
        var batch = new Option<int>("--batch-size") { Description = "samples per network call (never changes the images)", DefaultValueFactory = _ => 16 };
        var outputDir = new Option<string>("--output", "-o") { Description = "output folder", DefaultValueFactory = _ => "generated" };
        var columns = new Option<int?>("--grid-columns") { Description = "images per grid row (default: square)" };
        var noSingles = new Option<bool>("--grid-only") { Description = "write only the grid, not one PNG per sample" };
        var raw = new Option<bool>("--raw-weights") { Description = "use the trained weights instead of their EMA" };
        var noClip = new Option<bool>("--no-clip") { Description = "do not clip x0 estimates to [-1, 1]" };
        var seed = CommonOptions.Seed();
        var device = CommonOptions.Device();
        var threads = CommonOptions.Threads();

        var command = new Command("sample", "Generate samples from a checkpoint and write a PNG grid and single PNGs.")
        {
            checkpoint, sampler, steps, eta, spacing, timesteps, guidance, classes, count, firstIndex, batch, outputDir, columns, noSingles,
            raw, noClip, seed, device, threads,
        };
        command.SetAction((parse, cancellationToken) => CliApp.Run(() =>
        {
            var torchDevice = CommonOptions.PrepareTorch(parse.GetValue(device)!, parse.GetValue(threads));
            var ckpt = Checkpoint.Load(parse.GetValue(checkpoint)!);
            using var network = ckpt.LoadNetwork(useEma: !parse.GetValue(raw), torchDevice);
            var denoiser = new TorchSharpDenoiser(network, ckpt.Manifest.Trainer.PredictionType, torchDevice);
            var options = new GenerationOptions
            {
                Count = parse.GetValue(count),
                Seed = parse.GetValue(seed),
                FirstIndex = parse.GetValue(firstIndex),
                BatchSize = parse.GetValue(batch),
                NumInferenceSteps = parse.GetValue(steps),
                TimestepSpacing = parse.GetValue(spacing),
                Timesteps = parse.GetValue(timesteps) is { } ts ? CommonOptions.ParseIntList(ts, "--timesteps") : null,
                ClassLabels = ParseClasses(parse.GetValue(classes), denoiser.ClassCount),
                GuidanceScale = parse.GetValue(guidance),
                ClipSample = !parse.GetValue(noClip),
            };
            string written = Generate(denoiser, ckpt.CreateSchedule(), Samplers.Create(parse.GetValue(sampler)!, parse.GetValue(eta)), options,
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
        return SampleOutput.Write(outputDir, samples, denoiser.SampleShape, options.FirstIndex, columns, singles);
    }

    private static int[]? ParseClasses(string? text, int classCount)
    {
        if (text is null) return null;
        if (text.Equals("all", StringComparison.OrdinalIgnoreCase))
        {
            if (classCount == 0) throw new ArgumentException("--classes all: the model is unconditional.");
            return Enumerable.Range(0, classCount).ToArray();
        }
        return CommonOptions.ParseIntList(text, "--classes");
    }
}
