using System.CommandLine;
using System.Diagnostics;
using Diffusion.ML.Sampling;
using Diffusion.ML.TorchSharp.Sampling;
using Diffusion.ML.TorchSharp.Training;
using Diffusion.ML.Zoo;
using Spectre.Console;

namespace Diffusion.ML.Cli.Commands;

/// <summary>
/// <c>diffusion-ml demo</c>: the offline first run. Takes the Fashion-MNIST latent DiT of the zoo (the cache, else the
/// repository's copy; downloaded only if neither has it) and draws one row per class with DPM-Solver++(2M) and
/// classifier-free guidance into a grid labelled with the class names, on ONNX Runtime (its <c>model.onnx</c>, the faster
/// backend on CPU) or TorchSharp (its checkpoint). <c>--train-digits</c> runs the earlier demo instead:
/// train a class-conditional UNet on the 8x8 digits embedded in the tool, then sample it.
/// </summary>
internal static class DemoCommand
{
    /// <summary>The zoo model the demo samples.</summary>
    public const string ModelId = "fashion-mnist-latent-dit";

    /// <summary>The grid's file name in the output folder.</summary>
    public const string GridFile = "fashion-mnist-grid.png";

    public static Command Create()
    {
        var outputDir = new Option<string>("--output", "-o") { Description = "output folder", DefaultValueFactory = _ => "demo-output" };
        var perClass = new Option<int>("--per-class") { Description = "images per class, one row per class", DefaultValueFactory = _ => 8 };
        var steps = new Option<int>("--steps") { Description = "DPM-Solver++(2M) steps", DefaultValueFactory = _ => 20 };
        var guidance = new Option<double>("--guidance") { Description = "classifier-free guidance scale", DefaultValueFactory = _ => 3 };
        var backend = new Option<string>("--backend")
        {
            Description = "onnx: the model's model.onnx on ONNX Runtime (faster on CPU); torch: its checkpoint on TorchSharp",
            DefaultValueFactory = _ => SampleModel.Onnx,
        };
        backend.AcceptOnlyFromAmong(SampleModel.Onnx, SampleModel.Torch);
        var trainDigits = new Option<bool>("--train-digits")
        {
            Description = "the earlier demo instead: train a small UNet on the embedded 8x8 digits (about 4 minutes on 2 CPU cores), then sample a grid",
        };
        var trainSteps = new Option<long>("--train-steps") { Description = "--train-digits: training steps (about 0.1 s each on 2 CPU cores)", DefaultValueFactory = _ => 1500 };
        var seed = CommonOptions.Seed();
        var threads = CommonOptions.Threads();
        var zoo = new ZooOptions();
        var command = new Command("demo",
            "Sample a labelled grid, one row per class, from the zoo's Fashion-MNIST latent DiT (offline, under a minute on 2 CPU cores); --train-digits trains a digits model first.")
        {
            outputDir, perClass, steps, guidance, backend, trainDigits, trainSteps, seed, threads,
        };
        foreach (var option in zoo.All) command.Options.Add(option);
        command.SetAction((parse, cancellationToken) => CliApp.Run(() => parse.GetValue(trainDigits)
            ? TrainDigits(parse.GetValue(outputDir)!, parse.GetValue(trainSteps), parse.GetValue(seed), parse.GetValue(threads), cancellationToken)
            : SampleFashion(parse, zoo, parse.GetValue(backend)!, parse.GetValue(outputDir)!, parse.GetValue(perClass), parse.GetValue(steps),
                parse.GetValue(guidance), parse.GetValue(seed), parse.GetValue(threads), cancellationToken), cancellationToken));
        return command;
    }

    private static int SampleFashion(ParseResult parse, ZooOptions zoo, string backend, string dir, int perClass, int steps, double guidance, long seed,
        int threads, CancellationToken cancellationToken)
    {
        if (perClass < 1) throw new ArgumentException($"--per-class must be at least 1; got {perClass}.");
        var clock = Stopwatch.StartNew();
        var source = Resolve(parse, zoo, backend, cancellationToken);
        using var model = SampleModel.Open(source.Backend, source.Path, useEma: true, "cpu", threads);
        var classNames = model.ClassNames ?? throw new InvalidDataException($"'{source.Path}' records no class names; the demo labels its rows with them.");
        AnsiConsole.MarkupLine($"model: {Markup.Escape(source.Description)}, {classNames.Count} classes, on {(backend == SampleModel.Onnx ? "ONNX Runtime" : "TorchSharp")}");

        int count = classNames.Count * perClass;
        var options = new GenerationOptions
        {
            Count = count, BatchSize = count, NumInferenceSteps = steps, Seed = seed, GuidanceScale = guidance,
            ClassLabels = Enumerable.Range(0, count).Select(i => i / perClass).ToArray(), // row k: class k
            ClipSample = !model.IsLatent, // latents are not bounded to [-1, 1]
        };
        var sampling = Stopwatch.StartNew();
        float[] images = model.ToImages(SampleCommand.GenerateWithProgress(model.Denoiser, model.Schedule, Samplers.Create("dpm-solver++-2m"), options, cancellationToken));
        sampling.Stop();

        Directory.CreateDirectory(dir);
        string grid = Path.Combine(dir, GridFile);
        var shape = model.ImageShape;
        LabelledGrid.Save(grid, images, classNames, perClass, shape[0], shape[1], shape[2], scale: 3);
        AnsiConsole.MarkupLine($"[green]wrote[/] {Markup.Escape(grid)}: {count} images, DPM-Solver++(2M) {steps} steps, guidance {guidance}, " +
            $"sampled in {sampling.Elapsed.TotalSeconds:0.0} s ({count / sampling.Elapsed.TotalSeconds:0.0} images/s), {clock.Elapsed.TotalSeconds:0.0} s in all");
        AnsiConsole.MarkupLine(Markup.Escape("rows: " + string.Join(", ", classNames.Select((name, row) => $"{row} {name}"))));
        return 0;
    }

    /// <summary>The model from the cache or the repository's zoo folder; downloaded only when neither has it and --offline is not given.</summary>
    private static ModelSource Resolve(ParseResult parse, ZooOptions zoo, string backend, CancellationToken cancellationToken)
    {
        try
        {
            return ModelSource.Resolve(ModelId, backend, () => zoo.CreateClient(parse, offline: true), cancellationToken);
        }
        catch (ZooException e) when (e.Kind == ZooErrorKind.OfflineNotCached && !parse.GetValue(zoo.Offline))
        {
            AnsiConsole.MarkupLine($"{ModelId} is neither in the cache nor in a repository zoo folder: downloading it.");
            return ModelSource.Resolve(ModelId, backend, () => zoo.CreateClient(parse, offline: false), cancellationToken);
        }
    }

    private static int TrainDigits(string dir, long steps, long seed, int threads, CancellationToken cancellationToken)
    {
        var device = CommonOptions.PrepareTorch("cpu", threads);
        string checkpoint = Path.Combine(dir, "digits.ckpt");
        var data = DatasetCatalog.EmbeddedDigits();
        AnsiConsole.MarkupLine($"data: {data.Count} UCI digits, 8x8, 10 classes (embedded)");

        var options = new DdpmTrainerOptions
        {
            BatchSize = 64, LearningRate = 1e-3, WarmupSteps = 100, EmaDecay = 0.999, Seed = seed, PredictionType = PredictionType.Epsilon,
        };
        using var trainer = File.Exists(checkpoint)
            ? DdpmTrainer.Resume(checkpoint, data, device)
            : new DdpmTrainer(ModelPresets.Create(data, baseChannels: null, attentionResolutions: null, conditional: true), data, options, device);
        AnsiConsole.MarkupLine($"model: UNet, {trainer.Network.ParameterCount:N0} parameters; checkpoint {Markup.Escape(checkpoint)}");
        int code = TrainCommand.Run(trainer, steps, checkpoint, checkpointEvery: 250, cancellationToken);
        if (code != 0) return code;

        trainer.Ema.Model.eval();
        var denoiser = new TorchSharpDenoiser(trainer.Ema.Model, trainer.Options.PredictionType, device);
        var generation = new GenerationOptions
        {
            Count = 100, BatchSize = 100, NumInferenceSteps = 50, Seed = seed,
            ClassLabels = Enumerable.Range(0, 100).Select(i => i / 10).ToArray(), GuidanceScale = 2.0,
        };
        string grid = SampleCommand.Generate(denoiser, trainer.Schedule, new DdimSampler(), generation, Path.Combine(dir, "samples"),
            columns: 10, singles: false, cancellationToken);
        AnsiConsole.MarkupLine($"[green]wrote[/] {Markup.Escape(grid)} (row k: digit k, DDIM-50, guidance 2)");
        return 0;
    }
}
