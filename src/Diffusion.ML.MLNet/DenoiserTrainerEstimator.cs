using Diffusion.ML.Sampling;
using Diffusion.ML.Schedules;
using Diffusion.ML.TorchSharp.Modules;
using Diffusion.ML.TorchSharp.Onnx;
using Diffusion.ML.TorchSharp.Training;
using Microsoft.ML;
using TorchSharp;

namespace Diffusion.ML.MLNet;

/// <summary>
/// Trains a denoiser (UNet or DiT) with the DDPM objective (Ho et al. 2020, Alg. 1; epsilon, x_0 or v targets) on a pixel
/// or latent column, class-conditional with classifier-free guidance dropout when a label column is named (Ho and
/// Salimans 2022). Returns a <see cref="DenoiserTransformer"/> (the network's prediction for noisy rows) from which
/// <c>mlContext.Diffusion().Sampler(...)</c> makes a generator. Reach it with <c>mlContext.Diffusion().TrainDenoiser(...)</c>.
/// </summary>
public sealed class DenoiserTrainerEstimator : IEstimator<DenoiserTransformer>
{
    /// <summary>Options of <see cref="DenoiserTrainerEstimator"/>.</summary>
    public sealed class Options : DiffusionTrainingOptions
    {
        /// <summary>Range of the column's values, mapped to [-1, 1]; null (default) uses them as they are (latents from <c>TrainVae</c>, or pixels already in [-1, 1]).</summary>
        public PixelRange? PixelRange { get; set; }

        /// <summary>The network. Default <see cref="DenoiserArchitecture.Auto"/>.</summary>
        public DenoiserArchitecture Architecture { get; set; } = DenoiserArchitecture.Auto;

        /// <summary>UNet options; null takes a small UNet sized to the data. Image size, channels and classes are set from the data.</summary>
        public UNetOptions? UNet { get; set; }

        /// <summary>DiT options; null takes a small DiT (width 128, 4 blocks). Shape and classes are set from the data.</summary>
        public DitOptions? Dit { get; set; }

        /// <summary>What the network predicts. Default epsilon (Ho et al. 2020).</summary>
        public PredictionType PredictionType { get; set; } = PredictionType.Epsilon;

        /// <summary>Noise schedule. Default linear, T = 1000 (Ho et al. 2020).</summary>
        public NoiseScheduleOptions Schedule { get; set; } = new();

        /// <summary>EMA decay of the exported weights. Default 0.999 (short runs; 0.9999 for long ones).</summary>
        public double EmaDecay { get; set; } = 0.999;

        /// <summary>Probability of training on the null class (classifier-free guidance). Default 0.1.</summary>
        public double ClassDropout { get; set; } = 0.1;

        /// <summary>
        /// Images per forward and backward pass, gradients added up over the step (the gradient of the whole batch); null
        /// (default) passes the whole batch. On the CPU, batches above 64 train faster in passes of 64 (docs/training.md).
        /// </summary>
        public int? MicroBatchSize { get; set; }

        /// <summary>Column of noisy samples x_t the transformer reads. Default "Noisy" (e.g. written by <c>AddNoise</c>).</summary>
        public string NoisyColumnName { get; set; } = "Noisy";

        /// <summary>Column of timesteps t (any numeric type) the transformer reads. Default "Timestep".</summary>
        public string TimestepColumnName { get; set; } = "Timestep";

        /// <summary>Column the transformer writes: the network's prediction (of epsilon, x_0 or v per <see cref="PredictionType"/>). Default "Prediction".</summary>
        public string OutputColumnName { get; set; } = "Prediction";

        /// <summary>
        /// Fine-tuning: a Diffusion.ML denoiser checkpoint (e.g. a zoo model's <c>model.ckpt</c>) whose EMA weights training
        /// starts from; its network, <see cref="PredictionType"/> and <see cref="Schedule"/> are used, so
        /// <see cref="Architecture"/>, <see cref="UNet"/> and <see cref="Dit"/> must stay at their defaults and the other two at
        /// their defaults or the checkpoint's values. The rows must have its sample shape (for a latent model: latents of its
        /// autoencoder) and at most its classes. Ignored when <see cref="DiffusionTrainingOptions.CheckpointFolder"/> already
        /// holds a run to resume. Default null (a new network).
        /// </summary>
        public string? InitialCheckpoint { get; set; }
    }

    private readonly MLContext _mlContext;
    private readonly string _featureColumnName;
    private readonly string? _labelColumnName;
    private readonly Options _options;

    internal DenoiserTrainerEstimator(MLContext mlContext, string featureColumnName, string? labelColumnName, Options? options)
    {
        _mlContext = mlContext;
        _featureColumnName = featureColumnName ?? throw new ArgumentNullException(nameof(featureColumnName));
        _labelColumnName = labelColumnName;
        _options = options ?? new Options();
    }

    /// <summary>Trains on every row (resuming from the checkpoint folder if one is set) and exports the EMA network.</summary>
    /// <param name="input">Rows with the sample column (and the label column, if named).</param>
    /// <returns>The denoiser transformer.</returns>
    /// <exception cref="ArgumentException">A column is missing or has the wrong type, the options are invalid, or the input is empty.</exception>
    /// <exception cref="InvalidDataException">A row holds a non-finite value or an invalid label (its number is in the message).</exception>
    public DenoiserTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        _options.ValidateCommon();
        _options.PixelRange?.Validate(nameof(Options.PixelRange));
        int[] shape = ImageColumns.ResolveShape(input.Schema, _featureColumnName, _options.ImageShape, nameof(Options.ImageShape));
        var trainerOptions = new DdpmTrainerOptions
        {
            Schedule = _options.Schedule,
            PredictionType = _options.PredictionType,
            BatchSize = _options.BatchSize,
            LearningRate = _options.LearningRate ?? 2e-4,
            WarmupSteps = _options.WarmupSteps,
            EmaDecay = _options.EmaDecay,
            ClassDropout = _options.ClassDropout,
            MicroBatchSize = _options.MicroBatchSize,
            Seed = _options.Seed,
        };
        trainerOptions.Validate();
        var data = ImageColumns.Read(input, _featureColumnName, shape, _options.PixelRange ?? PixelRange.Symmetric, _labelColumnName, _options.CancellationToken);

        var device = TorchSharpFit.Device(_options);
        string? checkpoint = TorchSharpFit.CheckpointPath(_options, "denoiser.ckpt");
        bool resuming = checkpoint is not null && File.Exists(checkpoint);
        var pretrained = _options.InitialCheckpoint is { } initial && !resuming ? Pretrained(initial) : null;
        using var reporter = new TrainingReporter(_mlContext, "denoiser", _options);
        DdpmTrainer trainer;
        if (resuming)
        {
            trainer = DdpmTrainer.Resume(checkpoint!, data, device);
            reporter.Info($"resumed from {checkpoint} at step {trainer.Step}");
        }
        else if (pretrained is not null)
        {
            reporter.Info($"fine-tuning the EMA weights of {pretrained.Path}");
            trainer = DdpmTrainer.FineTune(pretrained, data, trainerOptions, device);
        }
        else
        {
            torch.random.manual_seed(_options.Seed); // the initial weights
            trainer = new DdpmTrainer(DenoiserNetworks.Create(_options, shape, data.ClassCount), data, trainerOptions, device);
        }
        using (trainer)
        using (trainer.Network)
        {
            reporter.Info($"training a {trainer.Network.Kind} ({trainer.Network.parameters().Sum(p => p.numel()):N0} parameters) on {data.Count} samples of " +
                $"{string.Join("x", shape)}{(data.ClassCount > 0 ? $", {data.ClassCount} classes" : "")} for {_options.Steps} steps on {device}");
            trainer.Train(_options.Steps, checkpoint, _options.CheckpointEvery,
                new SynchronousProgress<TrainingProgress>(p => reporter.Report(p.Step, p.TotalSteps, p.Loss, p.Remaining)), _options.CancellationToken);
            var network = trainer.Ema.Model;
            network.eval();
            var export = new DenoiserOnnxExportOptions
            {
                PredictionType = trainer.Options.PredictionType,
                NoiseSchedule = trainer.Options.Schedule,
                ClipSample = _options.PixelRange is not null, // pixels are bounded; latents (no PixelRange) are not
            };
            var generators = Enum.GetValues<OnnxGeneratorSampler>().ToDictionary(s => s, s => GeneratorOnnxExporter.Export(network, export, s));
            return new DenoiserTransformer(_mlContext, DenoiserOnnxExporter.Export(network, export), generators, shape, network.ClassCount,
                trainer.Options.PredictionType, trainer.Options.Schedule, _labelColumnName, _options, input.Schema);
        }
    }

    /// <summary>Loads <see cref="Options.InitialCheckpoint"/> and checks that no option asks for another model.</summary>
    private Checkpoint Pretrained(string path)
    {
        var pretrained = Checkpoint.Load(path);
        var trained = pretrained.Manifest.Trainer;
        if (_options.Architecture != DenoiserArchitecture.Auto || _options.UNet is not null || _options.Dit is not null)
            throw new ArgumentException($"InitialCheckpoint '{path}' brings its network ({pretrained.Manifest.ModelKind}); leave Architecture at Auto and UNet and Dit null.",
                nameof(Options.InitialCheckpoint));
        if (_options.PredictionType != default && _options.PredictionType != trained.PredictionType)
            throw new ArgumentException($"InitialCheckpoint '{path}' was trained to predict {trained.PredictionType}; PredictionType {_options.PredictionType} would " +
                "ask its network for something else. Leave PredictionType at its default.", nameof(Options.PredictionType));
        if (_options.Schedule != new NoiseScheduleOptions() && _options.Schedule != trained.Schedule)
            throw new ArgumentException($"InitialCheckpoint '{path}' was trained with another noise schedule; leave Schedule at its default (the checkpoint's is used).",
                nameof(Options.Schedule));
        return pretrained;
    }

    /// <inheritdoc />
    public SchemaShape GetOutputSchema(SchemaShape inputSchema) =>
        SchemaShapes.WithFloatVector(_mlContext, inputSchema, _options.OutputColumnName,
            _options.ImageShape is { } s ? s.Aggregate(1, (a, b) => a * b) : -1,
            [_featureColumnName, .. _labelColumnName is null ? Array.Empty<string>() : [_labelColumnName]]);
}
