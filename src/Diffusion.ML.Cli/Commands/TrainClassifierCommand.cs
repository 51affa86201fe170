using System.CommandLine;
using System.Diagnostics;
using Diffusion.ML.Data;
using Diffusion.ML.TorchSharp.Evaluation;
using Diffusion.ML.TorchSharp.Training;
using Spectre.Console;
using TorchSharp;

namespace Diffusion.ML.Cli.Commands;

/// <summary>
/// <c>diffusion-ml train-classifier</c>: trains the CNN feature network of the evaluation metrics (FID, KID, IS,
/// precision/recall), measures its test accuracy and writes a feature-network file.
/// </summary>
internal static class TrainClassifierCommand
{
    /// <summary>Data sets with a test split: Fashion-MNIST (t10k) and the embedded 8x8 digits (every fifth image held out).</summary>

    public static Command Create()
    {
        var dataset = new Option<string>("--dataset") { Description = "training data (with its test split)", DefaultValueFactory = _ => "fashion-mnist" };
        dataset.AcceptOnlyFromAmong([.. DatasetCatalog.SplitNames]);
        var dataPath = new Option<string?>("--data-path") { Description = "folder (fashion-mnist) or CSV file (digits) of the data (default: the usual place)" };
        var output = new Option<string>("--output", "-o") { Description = "feature-network file to write (.zip)", Required = true };
        var id = new Option<string?>("--id") { Description = "the network's name in reports (default: <dataset>-features)" };
        var epochs = new Option<int>("--epochs") { Description = "passes over the training set", DefaultValueFactory = _ => 12 };
        var batch = new Option<int>("--batch-size") { Description = "examples per step", DefaultValueFactory = _ => 128 };
        var lr = new Option<double>("--lr") { Description = "peak AdamW learning rate (cosine decay after warm-up)", DefaultValueFactory = _ => 2e-3 };
        var weightDecay = new Option<double>("--weight-decay") { Description = "AdamW weight decay", DefaultValueFactory = _ => 0.01 };
        var warmup = new Option<int>("--warmup") { Description = "learning-rate warm-up steps", DefaultValueFactory = _ => 200 };
        var smoothing = new Option<double>("--label-smoothing") { Description = "cross-entropy label smoothing", DefaultValueFactory = _ => 0 };
        var noFlip = new Option<bool>("--no-flip") { Description = "no random horizontal flips" };
        var shift = new Option<int>("--max-shift") { Description = "largest random shift in pixels (0 = none)", DefaultValueFactory = _ => 2 };
        var channels = new Option<string>("--channels") { Description = "channels of each conv stage (two convs + pooling each)", DefaultValueFactory = _ => "16,32" };
        var features = new Option<int>("--features") { Description = "feature dimension D (penultimate layer)", DefaultValueFactory = _ => 128 };
        var convDropout = new Option<double>("--conv-dropout") { Description = "dropout after each pooling layer", DefaultValueFactory = _ => 0.1 };
        var featureDropout = new Option<double>("--feature-dropout") { Description = "dropout on the features before the logits", DefaultValueFactory = _ => 0.3 };
        var limit = new Option<int?>("--limit") { Description = "train on the first N training images only (quick trials)" };
        var seed = CommonOptions.Seed();
        var device = CommonOptions.Device();
        var threads = CommonOptions.Threads();

        var command = new Command("train-classifier", "Train the CNN feature network of the evaluation metrics and write it with its measured test accuracy.")
        {
            dataset, dataPath, output, id, epochs, batch, lr, weightDecay, warmup, smoothing, noFlip, shift, channels, features,
            convDropout, featureDropout, limit, seed, device, threads,
        };
        command.SetAction((parse, cancellationToken) => CliApp.Run(() =>
        {
            string path = parse.GetValue(output)!;
            if (File.Exists(path)) throw new ArgumentException($"'{path}' already exists; choose another --output or delete it.");
            var torchDevice = CommonOptions.PrepareTorch(parse.GetValue(device)!, parse.GetValue(threads));
            string name = parse.GetValue(dataset)!;
            var (train, test) = Load(name, parse.GetValue(dataPath));
            if (parse.GetValue(limit) is int n && n < train.Count) train = train.Subset(Enumerable.Range(0, Math.Max(n, 1)).ToArray());
            AnsiConsole.MarkupLine($"data: [bold]{train.Count}[/] training and {test.Count} test images of {train.Channels}x{train.Height}x{train.Width}, {train.ClassCount} classes");

            var options = new FeatureClassifierOptions
            {
                InputChannels = train.Channels,
                ImageSize = train.Height == train.Width ? train.Height : throw new ArgumentException($"The classifier takes square images; these are {train.Height}x{train.Width}."),
                StageChannels = CommonOptions.ParseIntList(parse.GetValue(channels)!, "--channels"),
                FeatureDimension = parse.GetValue(features),
                ClassCount = train.ClassCount,
                ConvDropout = parse.GetValue(convDropout),
                FeatureDropout = parse.GetValue(featureDropout),
            };
            var trainerOptions = new FeatureClassifierTrainerOptions
            {
                Epochs = parse.GetValue(epochs),
                BatchSize = parse.GetValue(batch),
                LearningRate = parse.GetValue(lr),
                WeightDecay = parse.GetValue(weightDecay),
                WarmupSteps = parse.GetValue(warmup),
                LabelSmoothing = parse.GetValue(smoothing),
                HorizontalFlip = !parse.GetValue(noFlip),
                MaxShift = parse.GetValue(shift),
                Seed = parse.GetValue(seed),
            };
            options.Validate();
            trainerOptions.Validate();
            torch.random.manual_seed(trainerOptions.Seed); // the initial weights
            using var network = new FeatureClassifier(options);
            using var trainer = new FeatureClassifierTrainer(network, train, trainerOptions, torchDevice);
            AnsiConsole.MarkupLine($"model: {network.Kind} [[{string.Join(", ", options.StageChannels)}]] -> {options.FeatureDimension} features, {network.ParameterCount:N0} parameters; {trainer.TotalSteps} steps");

            var clock = Stopwatch.StartNew();
            try
            {
                ConsoleProgress.Run("train-classifier", trainer.TotalSteps, update =>
                    trainer.Train(new InlineProgress<TrainingProgress>(p => update(p.Step,
                        $"epoch {Math.Min(trainerOptions.Epochs, p.Step * trainerOptions.BatchSize / train.Count + 1)} step {p.Step} loss {p.Loss:0.0000} {p.SamplesPerSecond:0} images/s ETA {p.Remaining:hh\\:mm\\:ss}")),
                        cancellationToken));
            }
            catch (OperationCanceledException)
            {
                AnsiConsole.MarkupLine($"[yellow]interrupted at step {trainer.Step}[/]; nothing written.");
                return 130;
            }
            double seconds = clock.Elapsed.TotalSeconds;
            var accuracy = FeatureClassifierTrainer.Evaluate(network, test, torchDevice);
            FeatureNetworkFile.Save(path, network, new FeatureNetworkManifest
            {
                Id = parse.GetValue(id) ?? $"{name}-features",
                ClassNames = train.ClassNames,
                TestAccuracy = accuracy.Accuracy,
                TestCount = accuracy.Count,
                TestData = name == "fashion-mnist" ? "fashion-mnist t10k (10,000 images)" : $"{name}: every fifth image ({test.Count} images)",
                TrainingCommand = "diffusion-ml " + string.Join(' ', parse.Tokens.Select(t => t.Value)),
                Training = trainerOptions,
                TrainingSeconds = Math.Round(seconds, 1),
            });
            for (int c = 0; c < accuracy.PerClass.Count; c++)
                AnsiConsole.MarkupLine($"  {Markup.Escape(train.ClassNames?[c] ?? c.ToString())}: {accuracy.PerClass[c]:P1}");
            AnsiConsole.MarkupLine($"[green]done[/]: {trainer.Step} steps in {TimeSpan.FromSeconds(seconds):hh\\:mm\\:ss}; " +
                $"test accuracy [bold]{accuracy.Accuracy:P2}[/] ({accuracy.Correct}/{accuracy.Count}); wrote [bold]{Markup.Escape(path)}[/] ({new FileInfo(path).Length / 1e6:0.00} MB)");
            return 0;
        }, cancellationToken));
        return command;
    }

    /// <summary>The training and test sets of a data set name.</summary>
    internal static (ImageDataset Train, ImageDataset Test) Load(string name, string? path) =>
        DatasetCatalog.SplitNames.Contains(name)
            ? (DatasetCatalog.LoadSplit(name, path, test: false), DatasetCatalog.LoadSplit(name, path, test: true))
            : throw new ArgumentException($"train-classifier needs a data set with a test split: {string.Join(", ", DatasetCatalog.SplitNames)}; got '{name}'.");
}
