using Diffusion.ML.TorchSharp.Autoencoders;
using Diffusion.ML.TorchSharp.Onnx;
using Microsoft.ML;
using TorchSharp;

namespace Diffusion.ML.MLNet;

/// <summary>
/// Trains a variational autoencoder (Kingma and Welling 2014) on an image column with TorchSharp, and returns a
/// <see cref="VaeTransformer"/> that maps images to latents (the posterior mean times the latent scale factor of
/// Rombach et al. 2022, so the latents have unit variance, as a latent denoiser expects). Reach it with
/// <c>mlContext.Diffusion().TrainVae(...)</c>; decode with <c>mlContext.Diffusion().VaeDecoder(...)</c>.
/// </summary>
public sealed class VaeEstimator : IEstimator<VaeTransformer>
{
    /// <summary>Options of <see cref="VaeEstimator"/>.</summary>
    public sealed class Options : DiffusionTrainingOptions
    {
        /// <summary>Range of the input pixels, mapped to [-1, 1]. Default [0, 255] (ExtractPixels).</summary>
        public PixelRange PixelRange { get; set; } = PixelRange.Bytes;

        /// <summary>Latent channels. Default 4 (Rombach et al. 2022).</summary>
        public int LatentChannels { get; set; } = 4;

        /// <summary>Channels per resolution level; each level after the first halves the resolution. Default [32, 64, 64] (28x28 to 7x7).</summary>
        public int[] LevelChannels { get; set; } = [32, 64, 64];

        /// <summary>Residual blocks per level.</summary>
        public int BlocksPerLevel { get; set; } = 1;

        /// <summary>GroupNorm groups (must divide every level's channels).</summary>
        public int GroupNormGroups { get; set; } = 8;

        /// <summary>Weight of the KL term (beta-VAE, Higgins et al. 2017). Default 1.</summary>
        public double Beta { get; set; } = 1.0;

        /// <summary>Standard deviation of the Gaussian decoder p(x | z) in [-1, 1] pixel units. Default 0.1.</summary>
        public double ObservationStd { get; set; } = 0.1;

        /// <summary>EMA decay of the weights used for export; null exports the trained weights. Default 0.999.</summary>
        public double? EmaDecay { get; set; } = 0.999;
    }

    private readonly MLContext _mlContext;
    private readonly string _outputColumnName, _inputColumnName;
    private readonly Options _options;

    internal VaeEstimator(MLContext mlContext, string outputColumnName, string inputColumnName, Options? options)
    {
        _mlContext = mlContext;
        _outputColumnName = outputColumnName ?? throw new ArgumentNullException(nameof(outputColumnName));
        _inputColumnName = inputColumnName ?? throw new ArgumentNullException(nameof(inputColumnName));
        _options = options ?? new Options();
    }

    /// <summary>Trains the VAE on every row of the input column (resuming from the checkpoint folder if one is set) and exports it.</summary>
    /// <param name="input">Rows with the image column.</param>
    /// <returns>The encoder transformer.</returns>
    /// <exception cref="ArgumentException">The column is missing or not a float vector of an image's size, the options are invalid, or the input is empty.</exception>
    /// <exception cref="InvalidDataException">A row holds NaN or infinite pixels (its number is in the message).</exception>
    public VaeTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        _options.ValidateCommon();
        _options.PixelRange.Validate(nameof(Options.PixelRange));
        int[] shape = ImageColumns.ResolveShape(input.Schema, _inputColumnName, _options.ImageShape, nameof(Options.ImageShape));
        var vaeOptions = new VaeOptions
        {
            Backbone = new ConvBackboneOptions
            {
                ImageChannels = shape[0], ImageHeight = shape[1], ImageWidth = shape[2],
                LevelChannels = _options.LevelChannels, BlocksPerLevel = _options.BlocksPerLevel, GroupNormGroups = _options.GroupNormGroups,
            },
            LatentChannels = _options.LatentChannels,
            Beta = _options.Beta,
            ObservationStd = _options.ObservationStd,
        };
        vaeOptions.Validate();
        var trainerOptions = new AutoencoderTrainerOptions
        {
            BatchSize = _options.BatchSize,
            LearningRate = _options.LearningRate ?? 1e-3,
            WarmupSteps = _options.WarmupSteps,
            EmaDecay = _options.EmaDecay,
            Seed = _options.Seed,
        };
        trainerOptions.Validate();
        var data = ImageColumns.Read(input, _inputColumnName, shape, _options.PixelRange, labelColumnName: null, _options.CancellationToken);

        var device = TorchSharpFit.Device(_options);
        string? checkpoint = TorchSharpFit.CheckpointPath(_options, "vae.ckpt");
        using var reporter = new TrainingReporter(_mlContext, "vae", _options);
        AutoencoderTrainer trainer;
        if (checkpoint is not null && File.Exists(checkpoint))
        {
            trainer = AutoencoderTrainer.Resume(checkpoint, data, device);
            reporter.Info($"resumed from {checkpoint} at step {trainer.Step}");
        }
        else
        {
            torch.random.manual_seed(_options.Seed); // the initial weights
            trainer = new AutoencoderTrainer(new VariationalAutoencoder(vaeOptions), data, trainerOptions, device);
        }
        using (trainer)
        using (trainer.Model)
        {
            reporter.Info($"training a VAE on {data.Count} images of {string.Join("x", shape)} for {_options.Steps} steps on {device}");
            trainer.Train(_options.Steps, checkpoint, _options.CheckpointEvery,
                new SynchronousProgress<AutoencoderProgress>(p => reporter.Report(p.Step, p.TotalSteps, p.Loss, p.Remaining)), _options.CancellationToken);
            var exported = (VariationalAutoencoder)(trainer.Ema?.Model ?? trainer.Model);
            return new VaeTransformer(_mlContext, AutoencoderOnnxExporter.ExportVaeEncoder(exported), AutoencoderOnnxExporter.ExportVaeDecoder(exported),
                exported.ImageShape.Select(d => (int)d).ToArray(), exported.LatentShape.Select(d => (int)d).ToArray(), exported.LatentScale,
                _inputColumnName, _outputColumnName, _options.PixelRange, input);
        }
    }

    /// <inheritdoc />
    public SchemaShape GetOutputSchema(SchemaShape inputSchema) =>
        SchemaShapes.WithFloatVector(_mlContext, inputSchema, _outputColumnName, LatentSize(), _inputColumnName);

    /// <summary>The latent size when the image shape is given, else -1 (known after Fit).</summary>
    private int LatentSize()
    {
        int factor = 1 << (_options.LevelChannels.Length - 1);
        return _options.ImageShape is [_, int h, int w] ? _options.LatentChannels * (h / factor) * (w / factor) : -1;
    }
}
