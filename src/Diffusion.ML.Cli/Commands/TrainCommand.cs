using System.CommandLine;
using Diffusion.ML.Data;
using Diffusion.ML.Sampling;
using Diffusion.ML.Schedules;
using Diffusion.ML.TorchSharp.Autoencoders;
using Diffusion.ML.TorchSharp.Modules;
using Diffusion.ML.TorchSharp.Training;
using Spectre.Console;

namespace Diffusion.ML.Cli.Commands;

/// <summary><c>diffusion-ml train</c>: trains a DDPM denoiser and writes a resumable checkpoint.</summary>
internal static class TrainCommand
{
    public static Command Create()
    {
        var dataset = new Option<string>("--dataset") { Description = "training data", DefaultValueFactory = _ => "fashion-mnist" };
        dataset.AcceptOnlyFromAmong(DatasetCatalog.Names);
        var dataPath = new Option<string?>("--data-path") { Description = "file or folder of the data (default: the data set's usual place)" };
        var output = new Option<string>("--output", "-o") { Description = "checkpoint file to write", Required = true };
        var resume = new Option<bool>("--resume") { Description = "continue the run stored in --output" };
        var initFrom = new Option<string?>("--init-from")
        {
            Description = "fine-tune: start from the EMA weights of this checkpoint or zoo id (e.g. fashion-mnist-unet32); its network, schedule, " +
                          "prediction type and autoencoder are kept, the optimizer starts fresh",
        };
        var autoencoder = new Option<string?>("--autoencoder") { Description = "latent diffusion: train on the scaled latents of this autoencoder checkpoint (train-vae / train-vqvae) or zoo id (e.g. fashion-mnist-vae); sample decodes with it" };
        var zoo = new ZooOptions();
        var autoencoderEma = new Option<bool>("--autoencoder-ema") { Description = "use the autoencoder's EMA weights" };
        var steps = new Option<long>("--steps") { Description = "total optimisation steps", DefaultValueFactory = _ => 10_000 };
        var batch = new Option<int>("--batch-size") { Description = "examples per step", DefaultValueFactory = _ => 64 };
        var microBatch = new Option<int?>("--micro-batch") { Description = "examples per forward/backward pass, gradients added up over the step (same gradient; on CPU batches above 64 train faster in passes of 64)" };
        var lr = new Option<double>("--lr") { Description = "peak AdamW learning rate", DefaultValueFactory = _ => 2e-4 };
        var warmup = new Option<int>("--warmup") { Description = "learning-rate warm-up steps", DefaultValueFactory = _ => 100 };
        var prediction = new Option<PredictionType>("--prediction") { Description = "what the network predicts", DefaultValueFactory = _ => PredictionType.Epsilon };
        var schedule = new Option<BetaSchedule>("--schedule") { Description = "beta schedule", DefaultValueFactory = _ => BetaSchedule.Linear };
        var zeroSnr = new Option<bool>("--zero-terminal-snr") { Description = "rescale the schedule to zero terminal SNR (use with --prediction VPrediction)" };
        var minSnr = new Option<double?>("--min-snr-gamma") { Description = "min-SNR-gamma loss weighting (e.g. 5)" };
        var ema = new Option<double>("--ema-decay") { Description = "largest EMA decay", DefaultValueFactory = _ => 0.9999 };
        var dropout = new Option<double>("--class-dropout") { Description = "probability of the null class (classifier-free guidance)", DefaultValueFactory = _ => 0.1 };
        var clip = new Option<double>("--grad-clip") { Description = "gradient-norm clipping (0 = off)", DefaultValueFactory = _ => 1.0 };
        var baseChannels = new Option<int?>("--base-channels") { Description = "UNet base width (default: 64 for 28x28)" };
        var attention = new Option<string?>("--attention") { Description = "UNet resolutions with self-attention, e.g. 14,7 (default: half and quarter size); 'none' for none" };
        var model = new Option<string>("--model") { Description = "network: auto (MLP for points, UNet for images), unet, mlp or dit", DefaultValueFactory = _ => "auto" };
        model.AcceptOnlyFromAmong("auto", UNet.KindName, MlpDenoiser.KindName, Dit.KindName);
        var ditSize = new Option<string>("--dit-size") { Description = "DiT size of Peebles and Xie 2022, Table 1: S, B, L or XL", DefaultValueFactory = _ => "S" };
        ditSize.AcceptOnlyFromAmong([.. DitOptions.PresetNames]);
        var patchSize = new Option<int>("--patch-size") { Description = "DiT patch size p (the paper's: 2, 4, 8); must divide the image size", DefaultValueFactory = _ => 2 };
        var hiddenSize = new Option<int?>("--hidden-size") { Description = "DiT token width, overriding --dit-size's" };
        var depth = new Option<int?>("--depth") { Description = "DiT blocks, overriding --dit-size's" };
        var heads = new Option<int?>("--heads") { Description = "DiT attention heads, overriding --dit-size's" };
        var unconditional = new Option<bool>("--unconditional") { Description = "ignore the labels" };
        var learnSigma = new Option<bool>("--learn-sigma") { Description = "UNet, DiT: also learn the reverse variance (Nichol and Dhariwal 2021), trained by L_simple + lambda L_vlb; sample with ddpm-learned" };
        var hybridWeight = new Option<double>("--hybrid-loss-weight") { Description = "lambda of L_hybrid with --learn-sigma", DefaultValueFactory = _ => 0.001 };
        var every = new Option<int>("--checkpoint-every") { Description = "steps between checkpoints", DefaultValueFactory = _ => 500 };
        var seed = CommonOptions.Seed();
        var device = CommonOptions.Device();
        var threads = CommonOptions.Threads();

        var command = new Command("train", "Train a DDPM denoiser (UNet or DiT for images, MLP for 2-D points).")
        {
            dataset, dataPath, output, resume, initFrom, autoencoder, autoencoderEma, steps, batch, microBatch, lr, warmup, prediction, schedule, zeroSnr, minSnr, ema, dropout, clip,
            model, baseChannels, attention, ditSize, patchSize, hiddenSize, depth, heads, unconditional, learnSigma, hybridWeight, every, seed, device, threads,
        };
        foreach (var option in zoo.All) command.Options.Add(option);
        command.SetAction((parse, cancellationToken) => CliApp.Run(() =>
        {
            var torchDevice = CommonOptions.PrepareTorch(parse.GetValue(device)!, parse.GetValue(threads));
            string path = parse.GetValue(output)!;
            if (File.Exists(path) && !parse.GetValue(resume))
                throw new ArgumentException($"'{path}' already exists. Pass --resume to continue that run, or choose another --output.");
            bool resuming = parse.GetValue(resume) && File.Exists(path);
            // Fine-tuning: the pretrained checkpoint fixes everything about the model; options that would change it are refused.
            Checkpoint? pretrained = null;
            if (parse.GetValue(initFrom) is { } initValue && !resuming)
            {
                Option[] modelOptions = [model, baseChannels, attention, ditSize, patchSize, hiddenSize, depth, heads, unconditional, learnSigma, prediction, schedule, zeroSnr, autoencoder, autoencoderEma];
                if (modelOptions.FirstOrDefault(o => parse.GetResult(o) is { Implicit: false }) is { } given)
                    throw new ArgumentException($"{given.Name} configures a new model; with --init-from the pretrained checkpoint's network, schedule, " +
                        "prediction type and autoencoder are used. Drop it, or train from scratch without --init-from.");
                var source = ModelSource.Resolve(initValue, SampleModel.Torch, () => zoo.CreateClient(parse), cancellationToken);
                pretrained = Checkpoint.Load(source.Path);
                AnsiConsole.MarkupLine($"fine-tuning [bold]{Markup.Escape(source.Description)}[/] (its EMA weights; the optimizer starts fresh)");
            }
            ImageDataset data = DatasetCatalog.Load(parse.GetValue(dataset)!, parse.GetValue(dataPath), parse.GetValue(seed));
            AnsiConsole.MarkupLine($"data: [bold]{data.Count}[/] examples of {data.Channels}x{data.Height}x{data.Width}, {data.ClassCount} classes");
            // Latent diffusion: a resumed run re-encodes with the autoencoder its checkpoint names; a fine-tuning run with the
            // pretrained model's (pinned again for the new checkpoint); a new one with --autoencoder.
            var latentAutoencoder = resuming
                ? Checkpoint.Load(path).Manifest.Trainer.LatentAutoencoder
                : pretrained?.Manifest.Trainer.LatentAutoencoder is { } pretrainedAutoencoder
                    ? LatentAutoencoderReference.Create(pretrainedAutoencoder.Resolve(pretrained.Path), path, pretrainedAutoencoder.UseEma)
                : parse.GetValue(autoencoder) is { } autoencoderPath
                    ? LatentAutoencoderReference.Create(ModelSource.ResolveAutoencoder(autoencoderPath, () => zoo.CreateClient(parse), cancellationToken), path,
                        parse.GetValue(autoencoderEma))
                    : null;
            if (latentAutoencoder is not null)
            {
                using var model = latentAutoencoder.Load(path, torchDevice);
                data = LatentCodec.EncodeToDataset(model, data, device: torchDevice);
                AnsiConsole.MarkupLine($"latents: {data.Channels}x{data.Height}x{data.Width} per example (latent scale {model.LatentScale:0.###})");
            }

            DdpmTrainer trainer;
            if (resuming)
            {
                trainer = DdpmTrainer.Resume(path, data, torchDevice);
                AnsiConsole.MarkupLine($"resumed [bold]{Markup.Escape(path)}[/] at step {trainer.Step}");
            }
            else
            {
                var options = new DdpmTrainerOptions
                {
                    Schedule = new NoiseScheduleOptions { BetaSchedule = parse.GetValue(schedule), RescaleZeroTerminalSnr = parse.GetValue(zeroSnr) },
                    PredictionType = parse.GetValue(prediction),
                    BatchSize = parse.GetValue(batch),
                    MicroBatchSize = parse.GetValue(microBatch),
                    LearningRate = parse.GetValue(lr),
                    WarmupSteps = parse.GetValue(warmup),
                    EmaDecay = parse.GetValue(ema),
                    MinSnrGamma = parse.GetValue(minSnr),
                    ClassDropout = parse.GetValue(dropout),
                    GradientClipNorm = parse.GetValue(clip),
                    HybridLossWeight = parse.GetValue(hybridWeight),
                    Seed = parse.GetValue(seed),
                    LatentAutoencoder = latentAutoencoder,
                };
                if (pretrained is not null)
                    trainer = DdpmTrainer.FineTune(pretrained, data, options, torchDevice); // its schedule and prediction type replace the defaults above
                else
                {
                    int[]? attentionAt = parse.GetValue(attention) switch
                    {
                        null => null,
                        "none" => [],
                        var text => CommonOptions.ParseIntList(text, "--attention"),
                    };
                    bool conditional = !parse.GetValue(unconditional);
                    bool ditOptionsGiven = parse.GetResult(ditSize) is { Implicit: false } || parse.GetResult(patchSize) is { Implicit: false }
                        || parse.GetValue(hiddenSize) is not null || parse.GetValue(depth) is not null || parse.GetValue(heads) is not null;
                    DenoiserNetwork network = parse.GetValue(model)! switch
                    {
                        Dit.KindName when parse.GetValue(baseChannels) is not null || attentionAt is not null => throw new ArgumentException(
                            "--base-channels and --attention are UNet options; a DiT takes --dit-size, --patch-size, --hidden-size, --depth and --heads."),
                        Dit.KindName => CreateDit(data, conditional, parse.GetValue(ditSize)!, parse.GetValue(patchSize),
                            parse.GetValue(hiddenSize), parse.GetValue(depth), parse.GetValue(heads), parse.GetValue(learnSigma)),
                        _ when ditOptionsGiven => throw new ArgumentException(
                            "--dit-size, --patch-size, --hidden-size, --depth and --heads configure a DiT; add --model dit."),
                        var kind => CheckKind(kind, data, ModelPresets.Create(data, parse.GetValue(baseChannels), attentionAt, conditional, parse.GetValue(learnSigma))),
                    };
                    trainer = new DdpmTrainer(network, data, options, torchDevice);
                }
                AnsiConsole.MarkupLine($"model: {trainer.Network.Kind}, {trainer.Network.ParameterCount:N0} parameters, {trainer.Network.ClassCount} classes");
            }
            using (trainer)
            {
                return Run(trainer, parse.GetValue(steps), path, parse.GetValue(every), cancellationToken);
            }
        }, cancellationToken));
        return command;
    }

    /// <summary>A DiT preset (Peebles and Xie 2022, Table 1) for the data's image size, with optional overrides.</summary>
    private static Dit CreateDit(ImageDataset data, bool conditional, string size, int patchSize, int? hiddenSize, int? depth, int? heads, bool learnSigma)
    {
        if (data.Height == 1 && data.Width == 1)
            throw new ArgumentException("--model dit needs images; the data set holds points (use --model mlp or auto).");
        var preset = DitOptions.Preset(size, patchSize, data.Channels, data.Height, data.Width, conditional ? data.ClassCount : 0);
        return new Dit(preset with
        {
            HiddenSize = hiddenSize ?? preset.HiddenSize, Depth = depth ?? preset.Depth, Heads = heads ?? preset.Heads, LearnSigma = learnSigma,
        });
    }

    /// <summary>Refuses a --model that does not fit the data (auto accepts what <see cref="ModelPresets"/> chose).</summary>
    private static DenoiserNetwork CheckKind(string kind, ImageDataset data, DenoiserNetwork network)
    {
        if (kind != "auto" && kind != network.Kind)
        {
            network.Dispose();
            throw new ArgumentException(
                $"--model {kind} does not fit {data.Channels}x{data.Height}x{data.Width} samples; use --model {network.Kind} (or auto).");
        }
        return network;
    }

    /// <summary>Trains with a progress display; on Ctrl+C the trainer writes its checkpoint and the command says how to resume.</summary>
    internal static int Run(DdpmTrainer trainer, long steps, string path, int checkpointEvery, CancellationToken cancellationToken)
    {
        try
        {
            ConsoleProgress.Run("train", steps, update =>
            {
                update(trainer.Step, "");
                trainer.Train(steps, path, checkpointEvery, new InlineProgress<TrainingProgress>(p =>
                    update(p.Step, $"step {p.Step} loss {p.Loss:0.0000} {p.SamplesPerSecond:0} samples/s ETA {p.Remaining:hh\\:mm\\:ss}")),
                    cancellationToken);
            });
        }
        catch (OperationCanceledException)
        {
            AnsiConsole.MarkupLine($"[yellow]interrupted at step {trainer.Step}[/]; checkpoint saved. Continue with the same command and --resume.");
            return 130;
        }
        AnsiConsole.MarkupLine($"[green]done[/]: {trainer.Step} steps, checkpoint [bold]{Markup.Escape(path)}[/]");
        return 0;
    }
}
