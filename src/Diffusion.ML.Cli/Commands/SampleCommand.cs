using System.CommandLine;
using Diffusion.ML.Data;
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
        var checkpoint = new Option<string>("--checkpoint", "-c") { Description = "checkpoint written by train (an .onnx file from export with --backend onnx), or a zoo id (id or id@version)", Required = true };
        var backend = SampleModel.BackendOption();
        var sampling = new SamplingArguments(defaultCount: 16);
        var outputDir = new Option<string>("--output", "-o") { Description = "output folder", DefaultValueFactory = _ => "generated" };
        var columns = new Option<int?>("--grid-columns") { Description = "images per grid row (default: square)" };
        var noSingles = new Option<bool>("--grid-only") { Description = "write only the grid, not one PNG per sample" };
        var raw = new Option<bool>("--raw-weights") { Description = "use the trained weights instead of their EMA" };
        var initImages = new Option<string?>("--init-images") { Description = "folder of images to edit (img2img / SDEdit), or the known images with --mask" };
        var strength = new Option<double>("--strength") { Description = "img2img: fraction of the steps run from the noised images (0..1)", DefaultValueFactory = _ => 0.8 };
        var mask = new Option<string?>("--mask") { Description = "inpaint --init-images (RePaint): PNG mask, white = keep, black = generate" };
        var jumpLength = new Option<int>("--jump-length") { Description = "inpainting: RePaint jump length j", DefaultValueFactory = _ => 10 };
        var resampling = new Option<int>("--resampling") { Description = "inpainting: RePaint resampling count r (1 = none)", DefaultValueFactory = _ => 10 };
        var device = CommonOptions.Device();
        var threads = CommonOptions.Threads();
        var evaluationBatch = CommonOptions.EvaluationBatch();
        var zoo = new ZooOptions();

        var command = new Command("sample", "Generate samples from a checkpoint and write a PNG grid and single PNGs.")
        {
            checkpoint, backend, outputDir, columns, noSingles, raw, initImages, strength, mask, jumpLength, resampling, device, threads, evaluationBatch,
        };
        foreach (var option in sampling.All.Concat(zoo.All)) command.Options.Add(option);
        command.SetAction((parse, cancellationToken) => CliApp.Run(() =>
        {
            var source = ModelSource.Resolve(parse.GetValue(checkpoint)!, parse.GetValue(backend), () => zoo.CreateClient(parse), cancellationToken);
            using var model = SampleModel.Open(source.Backend, source.Path, useEma: !parse.GetValue(raw), parse.GetValue(device)!, parse.GetValue(threads), parse.GetValue(evaluationBatch));
            var denoiser = model.Denoiser;
            var options = sampling.CreateOptions(parse, denoiser.ClassCount, model.IsLatent);
            var schedule = model.Schedule;
            var sampler = sampling.CreateSampler(parse);
            if (model.IsLatent && (parse.GetValue(initImages) is not null || parse.GetValue(mask) is not null))
                throw new ArgumentException("img2img and inpainting work on pixels; this is a latent diffusion model. Encode the images first, or use a pixel model.");
            float[]? images = parse.GetValue(initImages) is { } folder ? LoadImages(folder, denoiser.SampleShape) : null;
            string written;
            if (parse.GetValue(mask) is { } maskPath)
            {
                if (images is null) throw new ArgumentException("--mask inpaints the images of --init-images; give both.");
                if (sampler is not SingleStepSampler singleStep)
                    throw new ArgumentException($"Inpainting (RePaint) jumps back in time, which breaks the history of the multistep sampler '{sampler.Name}'; use ddpm or ddim.");
                var inpainting = new InpaintingOptions
                {
                    KnownImages = images, Mask = LoadMask(maskPath, denoiser.SampleShape),
                    JumpLength = parse.GetValue(jumpLength), Resampling = parse.GetValue(resampling),
                };
                var pipeline = new DiffusionPipeline(denoiser, schedule);
                float[] samples = [];
                ConsoleProgress.Run("inpaint", options.Count, update =>
                    samples = pipeline.Inpaint(singleStep, inpainting, options, new InlineProgress<GenerationProgress>(p =>
                        update(p.SamplesDone, $"{p.SamplesDone}/{p.SamplesTotal} samples, evaluation {p.Step}/{p.Steps}")), cancellationToken));
                written = SampleOutput.Write(parse.GetValue(outputDir)!, samples, denoiser.SampleShape, options.FirstIndex, parse.GetValue(columns), !parse.GetValue(noSingles));
            }
            else
            {
                if (images is not null) options = options with { InitialImages = images, Strength = parse.GetValue(strength) };
                float[] samples = model.ToImages(GenerateWithProgress(denoiser, schedule, sampler, options, cancellationToken)); // latents decoded
                written = SampleOutput.Write(parse.GetValue(outputDir)!, samples, model.ImageShape, options.FirstIndex, parse.GetValue(columns), !parse.GetValue(noSingles));
            }
            if (model.ClassNames is { } names && options.ClassLabels is { } labels)
                AnsiConsole.MarkupLine($"classes: {Markup.Escape(string.Join(", ", labels.Distinct().Select(l => $"{l}={names[l]}")))}");
            AnsiConsole.MarkupLine($"[green]wrote[/] {Markup.Escape(written)}");
            return 0;
        }, cancellationToken));
        return command;
    }

    /// <summary>The images of a folder, decoded to the model's sample shape (grey or RGB, [-1, 1]).</summary>
    private static float[] LoadImages(string folder, IReadOnlyList<int> shape)
    {
        if (shape.Count != 3) throw new ArgumentException("--init-images needs an image model; this one generates points.");
        return new ImageFolderDataset(folder, grayscale: shape[0] == 1, width: shape[2], height: shape[1]).ToDataset().Pixels;
    }

    /// <summary>A PNG mask (white = 1 = keep) at the model's size, repeated over the channels.</summary>
    private static float[] LoadMask(string path, IReadOnlyList<int> shape)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"Mask '{path}' does not exist.", path);
        float[] grey = ImageFileDecoder.Decode(path, 1, out int width, out int height);
        if (shape.Count != 3 || width != shape[2] || height != shape[1])
            throw new ArgumentException($"The mask is {width}x{height}; the model's images are {string.Join("x", shape.Skip(1).Reverse())}. Resize it first.");
        var mask = new float[shape[0] * grey.Length];
        for (int c = 0; c < shape[0]; c++)
        for (int i = 0; i < grey.Length; i++)
            mask[c * grey.Length + i] = (grey[i] + 1) / 2; // [-1, 1] -> [0, 1]
        return mask;
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
