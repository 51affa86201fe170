using Diffusion.ML.Data;
using Diffusion.ML.Sampling;
using Diffusion.ML.TorchSharp.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Diffusion.ML.TorchSharp.Autoencoders;

/// <summary>
/// Trains any <see cref="ImageAutoencoder"/> (VAE, VQ-VAE, the classic variants) with AdamW, linear warm-up, gradient
/// clipping and an optional EMA of the weights, and writes checkpoints that resume exactly: the batch and every random
/// draw of step k are pure functions of (seed, k), so N steps with an interruption equal N steps straight.
/// </summary>
public sealed class AutoencoderTrainer : IDisposable
{
    private const long StepStreamTag = 0x0AE7C0DE;
    private readonly ImageDataset _data;
    private readonly DataOrder _order;
    private readonly OptimizerHelper _optimizer;
    private readonly long[] _batchShape;

    /// <summary>Starts training <paramref name="model"/> from its current weights.</summary>
    /// <param name="model">The autoencoder; it is moved to <paramref name="device"/>.</param>
    /// <param name="data">Training images of the autoencoder's <see cref="ImageAutoencoder.ImageShape"/>, all finite.</param>
    /// <param name="options">Trainer options.</param>
    /// <param name="device">Device (default CPU).</param>
    /// <exception cref="ArgumentException">Empty data, a wrong image shape, a non-finite pixel, or invalid options.</exception>
    public AutoencoderTrainer(ImageAutoencoder model, ImageDataset data, AutoencoderTrainerOptions options, Device? device = null)
    {
        TorchSharpRuntime.EnsureLoaded();
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        LatentCodec.CheckDataset(data, model.ImageShape, nameof(data));
        Options = options;
        Device = device ?? CPU;
        Model = model;
        Model.to(Device);
        Model.train();
        _data = data;
        _order = new DataOrder(data.Count, options.BatchSize, options.Seed);
        _batchShape = [options.BatchSize, .. model.ImageShape];
        _optimizer = new ScalarSafe.AdamW(model.parameters().Where(p => p.requires_grad), options.LearningRate, options.AdamBeta1, options.AdamBeta2,
            weightDecay: options.WeightDecay);
        Ema = options.EmaDecay is { } decay ? new AutoencoderAverage(model, decay, Device) : null;
        DataFingerprint = DataFingerprint.Of(data, [data.Channels, data.Height, data.Width]);
    }

    /// <summary>The trainer's options.</summary>
    public AutoencoderTrainerOptions Options { get; }

    /// <summary>The device training runs on.</summary>
    public Device Device { get; }

    /// <summary>The autoencoder being trained.</summary>
    public ImageAutoencoder Model { get; }

    /// <summary>The EMA of the weights, or null when <see cref="AutoencoderTrainerOptions.EmaDecay"/> is null.</summary>
    public AutoencoderAverage? Ema { get; }

    /// <summary>Optimisation steps done.</summary>
    public long Step { get; private set; }

    /// <summary>Identity of the training data, stored in checkpoints.</summary>
    public DataFingerprint DataFingerprint { get; }

    /// <summary>The metrics of the last step (the loss terms), empty before the first.</summary>
    public IReadOnlyDictionary<string, double> LastMetrics { get; private set; } = new Dictionary<string, double>();

    /// <summary>The learning rate of 0-based step <paramref name="step"/>.</summary>
    public double LearningRateAt(long step) => LearningRateSchedule.LinearWarmup(Options.LearningRate, Options.WarmupSteps, step);

    /// <summary>Runs one optimisation step and returns its loss.</summary>
    /// <exception cref="InvalidOperationException">The loss became NaN or infinite.</exception>
    public double TrainStep()
    {
        using var scope = NewDisposeScope();
        var indices = new int[Options.BatchSize];
        var pixels = new float[Options.BatchSize * _data.ImageLength];
        _order.BatchIndices(Step, indices);
        _data.CopyBatch(indices, pixels);
        var x = tensor(pixels, _batchShape, device: Device);
        var noise = new SampleNoise(Options.Seed ^ StepStreamTag, Step);

        foreach (var group in _optimizer.ParamGroups) group.LearningRate = LearningRateAt(Step);
        _optimizer.zero_grad();
        var loss = Model.Loss(x, noise);
        loss.Total.backward();
        if (Options.GradientClipNorm > 0) nn.utils.clip_grad_norm_(Model.parameters().Where(p => p.requires_grad), Options.GradientClipNorm);
        _optimizer.step();
        Ema?.Update(Step);
        Step++;
        double value = loss.Total.item<float>();
        if (!double.IsFinite(value))
            throw new InvalidOperationException($"The loss became {value} at step {Step}. Lower the learning rate or enable gradient clipping; resume from the last checkpoint.");
        LastMetrics = loss.Terms.ToDictionary(t => t.Key, t => (double)t.Value.item<float>());
        return value;
    }

    /// <summary>
    /// Trains until <see cref="Step"/> reaches <paramref name="totalSteps"/>, then computes the latent scale factor; writes a
    /// checkpoint every <paramref name="checkpointEvery"/> steps, at the end, and when cancelled (then it throws
    /// <see cref="OperationCanceledException"/>).
    /// </summary>
    /// <param name="totalSteps">Step count to reach.</param>
    /// <param name="checkpointPath">Checkpoint file, or null for none.</param>
    /// <param name="checkpointEvery">Steps between checkpoints; 0 writes only at the end.</param>
    /// <param name="progress">Receives progress after each step.</param>
    /// <param name="cancellationToken">Stops training after the current step.</param>
    public void Train(long totalSteps, string? checkpointPath = null, int checkpointEvery = 0, IProgress<AutoencoderProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        TrainingLoop.Run(() => Step, totalSteps, Options.BatchSize, TrainStep,
            progress is null ? null : (step, loss, rate, left) => progress.Report(new AutoencoderProgress(step, totalSteps, loss, LastMetrics, rate, left)),
            checkpointPath is null ? null : () => SaveCheckpoint(checkpointPath), checkpointEvery, cancellationToken);
        UpdateLatentScale();
        if (checkpointPath is not null) SaveCheckpoint(checkpointPath);
    }

    /// <summary>
    /// Sets <see cref="IImageAutoencoder.LatentScale"/> of the model (and its EMA, from the EMA's own latents) to 1 / std of
    /// the latents of the first <see cref="AutoencoderTrainerOptions.LatentScaleSamples"/> training images.
    /// </summary>
    /// <returns>The model's scale factor.</returns>
    public double UpdateLatentScale()
    {
        var sample = _data.Subset(Enumerable.Range(0, Math.Min(_data.Count, Options.LatentScaleSamples)).ToArray());
        Model.LatentScale = LatentCodec.ComputeLatentScale(Model, sample, device: Device);
        if (Ema is not null) Ema.Model.LatentScale = LatentCodec.ComputeLatentScale(Ema.Model, sample, device: Device);
        return Model.LatentScale;
    }

    /// <summary>Writes the full training state atomically to <paramref name="path"/>.</summary>
    /// <param name="path">The file.</param>
    public void SaveCheckpoint(string path)
    {
        var manifest = new AutoencoderCheckpointManifest
        {
            ModelKind = Model.Kind,
            ModelConfig = Model.ConfigJson,
            Trainer = Options,
            Step = Step,
            Data = DataFingerprint,
            LatentScale = Model.LatentScale,
            EntryHashes = new Dictionary<string, string>(),
        };
        AutoencoderCheckpoint.Save(path, manifest, Model, Ema?.Model, _optimizer);
    }

    /// <summary>Continues a run from a checkpoint, on the same data.</summary>
    /// <param name="checkpointPath">A checkpoint written by <see cref="SaveCheckpoint"/>.</param>
    /// <param name="data">The training data of the original run.</param>
    /// <param name="device">Device (default CPU).</param>
    /// <exception cref="ArgumentException">The data differs from the data the checkpoint was trained on.</exception>
    /// <exception cref="InvalidDataException">The checkpoint is corrupt or not an autoencoder checkpoint.</exception>
    public static AutoencoderTrainer Resume(string checkpointPath, ImageDataset data, Device? device = null)
    {
        TorchSharpRuntime.EnsureLoaded();
        var checkpoint = AutoencoderCheckpoint.Load(checkpointPath);
        var model = checkpoint.LoadModel();
        model.train();
        var trainer = new AutoencoderTrainer(model, data, checkpoint.Manifest.Trainer, device);
        if (!trainer.DataFingerprint.SameDataAs(checkpoint.Manifest.Data))
        {
            trainer.Dispose();
            throw new ArgumentException(
                $"Checkpoint '{checkpointPath}' was trained on different data ({checkpoint.Manifest.Data}) than given ({trainer.DataFingerprint}). " +
                "Resume with the same data set, or start a new run.", nameof(data));
        }
        if (trainer.Ema is not null && checkpoint.HasEma) checkpoint.LoadInto(trainer.Ema.Model, AutoencoderCheckpoint.EmaEntry);
        checkpoint.LoadOptimizer(trainer._optimizer);
        trainer.Step = checkpoint.Manifest.Step;
        return trainer;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _optimizer.Dispose();
        Ema?.Dispose();
    }
}
