using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using Diffusion.ML.Data;
using Diffusion.ML.TorchSharp.Autoencoders;
using Spectre.Console;
using TorchSharp;

namespace Diffusion.ML.Cli.Commands;

/// <summary>
/// The options and the run shared by <c>train-vae</c>, <c>train-vqvae</c> and <c>train-autoencoder</c>: data with a test
/// split, the trainer's settings, resumable checkpoints, and the test-set report (printed and written next to the checkpoint
/// as <c>&lt;output&gt;.metrics.json</c>, with <c>&lt;output&gt;.reconstructions.png</c>).
/// </summary>
internal sealed class AutoencoderTrainingOptions
{
    private readonly Option<string> _dataset = new("--dataset") { Description = "training data (its test split is measured at the end)", DefaultValueFactory = _ => "fashion-mnist" };
    private readonly Option<string?> _dataPath = new("--data-path") { Description = "folder (fashion-mnist) or CSV file (digits) of the data (default: the usual place)" };
    private readonly Option<string> _output = new("--output", "-o") { Description = "checkpoint file to write", Required = true };
    private readonly Option<bool> _resume = new("--resume") { Description = "continue the run stored in --output" };
    private readonly Option<long> _steps = new("--steps") { Description = "total optimisation steps", DefaultValueFactory = _ => 5_000 };
    private readonly Option<int> _batch = new("--batch-size") { Description = "images per step", DefaultValueFactory = _ => 64 };
    private readonly Option<double> _lr = new("--lr") { Description = "peak AdamW learning rate", DefaultValueFactory = _ => 1e-3 };
    private readonly Option<int> _warmup = new("--warmup") { Description = "learning-rate warm-up steps", DefaultValueFactory = _ => 100 };
    private readonly Option<double?> _ema = new("--ema-decay") { Description = "keep an EMA of the weights with this largest decay (default: none)" };
    private readonly Option<double> _clip = new("--grad-clip") { Description = "gradient-norm clipping (0 = off)", DefaultValueFactory = _ => 1.0 };
    private readonly Option<int> _every = new("--checkpoint-every") { Description = "steps between checkpoints", DefaultValueFactory = _ => 500 };
    private readonly Option<int?> _limit = new("--limit") { Description = "train on the first N training images only (quick trials)" };
    private readonly Option<int?> _testLimit = new("--test-limit") { Description = "measure on the first N test images only" };
    private readonly Option<long> _seed = CommonOptions.Seed();
    private readonly Option<string> _device = CommonOptions.Device();
    private readonly Option<int> _threads = CommonOptions.Threads();

    public AutoencoderTrainingOptions() => _dataset.AcceptOnlyFromAmong([.. DatasetCatalog.SplitNames]);

    /// <summary>The options, to add to a command.</summary>
    public IEnumerable<Option> All =>
        [_dataset, _dataPath, _output, _resume, _steps, _batch, _lr, _warmup, _ema, _clip, _every, _limit, _testLimit, _seed, _device, _threads];

    /// <summary>Parses "32,64,64" style level channels.</summary>
    public static int[] Levels(ParseResult parse, Option<string> levels) => CommonOptions.ParseIntList(parse.GetValue(levels)!, levels.Name);

    /// <summary>
    /// Loads the data, builds the autoencoder with <paramref name="build"/> (or resumes), trains, measures the test split
    /// and writes the checkpoint and the metrics file. Returns the exit code.
    /// </summary>
    public int Run(string title, ParseResult parse, Func<ImageDataset, ImageAutoencoder> build, CancellationToken cancellationToken)
    {
        var device = CommonOptions.PrepareTorch(parse.GetValue(_device)!, parse.GetValue(_threads));
        string path = parse.GetValue(_output)!;
        bool resume = parse.GetValue(_resume);
        if (File.Exists(path) && !resume)
            throw new ArgumentException($"'{path}' already exists. Pass --resume to continue that run, or choose another --output.");
        string name = parse.GetValue(_dataset)!;
        var train = DatasetCatalog.LoadSplit(name, parse.GetValue(_dataPath), test: false);
        var test = DatasetCatalog.LoadSplit(name, parse.GetValue(_dataPath), test: true);
        if (parse.GetValue(_limit) is int n && n < train.Count) train = train.Subset(Enumerable.Range(0, Math.Max(n, 1)).ToArray());
        if (parse.GetValue(_testLimit) is int m && m < test.Count) test = test.Subset(Enumerable.Range(0, Math.Max(m, 1)).ToArray());
        AnsiConsole.MarkupLine($"data: [bold]{train.Count}[/] training and {test.Count} test images of {train.Channels}x{train.Height}x{train.Width}");

        AutoencoderTrainer trainer;
        if (resume && File.Exists(path))
        {
            trainer = AutoencoderTrainer.Resume(path, train, device);
            AnsiConsole.MarkupLine($"resumed [bold]{Markup.Escape(path)}[/] at step {trainer.Step}");
        }
        else
        {
            var options = new AutoencoderTrainerOptions
            {
                BatchSize = parse.GetValue(_batch),
                LearningRate = parse.GetValue(_lr),
                WarmupSteps = parse.GetValue(_warmup),
                EmaDecay = parse.GetValue(_ema),
                GradientClipNorm = parse.GetValue(_clip),
                Seed = parse.GetValue(_seed),
            };
            options.Validate();
            torch.random.manual_seed(options.Seed); // the initial weights
            trainer = new AutoencoderTrainer(build(train), train, options, device);
        }
        using (trainer)
        {
            var model = trainer.Model;
            long total = parse.GetValue(_steps);
            AnsiConsole.MarkupLine($"model: {model.Kind}, {model.ParameterCount:N0} parameters, latents [[{string.Join(", ", model.LatentShape)}]]; {total} steps");
            var clock = Stopwatch.StartNew();
            try
            {
                ConsoleProgress.Run(title, total, update => trainer.Train(total, path, parse.GetValue(_every),
                    new InlineProgress<AutoencoderProgress>(p => update(p.Step,
                        $"step {p.Step} loss {p.Loss:0.0000} {string.Join(" ", p.Metrics.Select(t => $"{t.Key} {t.Value:0.0000}"))} {p.SamplesPerSecond:0} images/s ETA {p.Remaining:hh\\:mm\\:ss}")),
                    cancellationToken));
            }
            catch (OperationCanceledException)
            {
                AnsiConsole.MarkupLine($"[yellow]interrupted at step {trainer.Step}[/]; saved {Markup.Escape(path)} (continue with --resume).");
                return 130;
            }
            double seconds = clock.Elapsed.TotalSeconds;
            var evaluated = trainer.Ema?.Model ?? model;
            var evaluation = AutoencoderEvaluator.Evaluate(evaluated, test, seed: parse.GetValue(_seed), device: device);
            Report(evaluation, trainer, seconds, test.Count, parse, path);
            SaveReconstructions(evaluated, test, path + ".reconstructions.png", device);
            return 0;
        }
    }

    /// <summary>A PNG of the first (up to) 8 test images over their reconstructions Decode(Encode(x)).</summary>
    private static void SaveReconstructions(ImageAutoencoder model, ImageDataset test, string file, torch.Device device)
    {
        if (test.Channels is not (1 or 3)) return; // PNG holds grey or RGB
        int n = Math.Min(8, test.Count);
        var originals = test.Pixels.AsSpan(0, n * test.ImageLength).ToArray();
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var reconstructed = model.call(torch.tensor(originals, [n, .. model.ImageShape], device: device)).cpu().data<float>().ToArray();
        PngWriter.SaveGrid(file, [.. originals, .. reconstructed], 2 * n, test.Channels, test.Height, test.Width, columns: n, scale: 2);
        AnsiConsole.MarkupLine($"reconstructions (top: test images, bottom: decoded): {Markup.Escape(file)}");
    }

    private static void Report(AutoencoderEvaluation e, AutoencoderTrainer trainer, double seconds, int testCount, ParseResult parse, string path)
    {
        AnsiConsole.MarkupLine($"test ({testCount} images{(trainer.Ema is null ? "" : ", EMA weights")}): MSE [bold]{e.Mse:0.00000}[/]" +
            (e.NegativeElbo is { } elbo ? $", -ELBO {elbo:0.0} nats/image = {e.NatsPerDim:0.0000} nats/dim = {e.BitsPerDim:0.0000} bits/dim" : "") +
            (e.Perplexity is { } perplexity ? $", codebook usage {e.CodebookUsage:P1}, perplexity {perplexity:0.0}" : "") +
            $"; latent scale {trainer.Model.LatentScale:0.0000}");
        string metricsPath = path + ".metrics.json";
        var record = new
        {
            command = "diffusion-ml " + string.Join(' ', parse.Tokens.Select(t => t.Value)),
            kind = trainer.Model.Kind,
            steps = trainer.Step,
            trainingSecondsThisRun = Math.Round(seconds, 1),
            latentScale = trainer.Model.LatentScale,
            test = e,
        };
        AtomicFile.WriteAllBytes(metricsPath, JsonSerializer.SerializeToUtf8Bytes(record, new JsonSerializerOptions { WriteIndented = true }));
        AnsiConsole.MarkupLine($"[green]done[/]: {trainer.Step} steps ({TimeSpan.FromSeconds(seconds):hh\\:mm\\:ss} this run); wrote [bold]{Markup.Escape(path)}[/] and {Markup.Escape(metricsPath)}");
    }
}
