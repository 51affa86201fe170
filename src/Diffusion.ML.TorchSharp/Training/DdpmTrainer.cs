using Diffusion.ML.Data;
using Diffusion.ML.Sampling;
using Diffusion.ML.Schedules;
using Diffusion.ML.TorchSharp.Modules;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Diffusion.ML.TorchSharp.Training;

/// <summary>
/// Trains a <see cref="DenoiserNetwork"/> with the DDPM objective (Ho et al. 2020, Alg. 1): AdamW with linear warm-up,
/// gradient clipping, an EMA of the weights, label dropout for classifier-free guidance, and checkpoints that resume
/// exactly: every random choice of step k (batch, timesteps, noise, label dropout, dropout layers) is a pure function of
/// (seed, k), so N steps with an interruption give the same weights as N steps straight.
/// </summary>
public sealed class DdpmTrainer : IDisposable
{
    private const long StepStreamTag = 0x7EA1C0DE;
    private readonly ImageDataset _data;
    private readonly DataOrder _order;
    private readonly DiffusionLoss _loss;
    private readonly VariationalBoundTerm? _variationalBound;
    private readonly OptimizerHelper _optimizer;
    private readonly int[] _sampleShape;
    private readonly int _sampleLength;

    /// <summary>Starts training <paramref name="network"/> from its current weights.</summary>
    /// <param name="network">The network; it is moved to <paramref name="device"/>.</param>
    /// <param name="data">Training examples; each must have prod(network.SampleShape) values.</param>
    /// <param name="options">Trainer options.</param>
    /// <param name="device">Device to train on (default CPU).</param>
    public DdpmTrainer(DenoiserNetwork network, ImageDataset data, DdpmTrainerOptions options, Device? device = null)
    {
        TorchSharpRuntime.EnsureLoaded();
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _sampleShape = network.SampleShape.Select(d => (int)d).ToArray();
        _sampleLength = _sampleShape.Aggregate(1, (a, b) => a * b);
        if (data.Count == 0) throw new ArgumentException("The training data set is empty.", nameof(data));
        if (data.ImageLength != _sampleLength)
            throw new ArgumentException(
                $"The data's examples are {data.Channels}x{data.Height}x{data.Width} ({data.ImageLength} values) but the network expects " +
                $"[{string.Join(", ", _sampleShape)}] ({_sampleLength} values). Resize the data or configure the network for it.", nameof(data));
        if (network.ClassCount > 0 && data.Labels is null)
            throw new ArgumentException($"The network is class-conditional ({network.ClassCount} classes) but the data has no labels.", nameof(data));
        if (network.ClassCount > 0 && data.ClassCount > network.ClassCount)
            throw new ArgumentException($"The data has {data.ClassCount} classes but the network only {network.ClassCount}.", nameof(data));

        Options = options;
        Device = device ?? CPU;
        Network = network;
        Network.to(Device);
        Network.train();
        Schedule = new NoiseSchedule(options.Schedule);
        _data = data;
        _order = new DataOrder(data.Count, options.BatchSize, options.Seed);
        _loss = new DiffusionLoss(Schedule, options.PredictionType, options.MinSnrGamma, Device);
        _variationalBound = network.LearnsVariance ? new VariationalBoundTerm(Schedule, options.PredictionType, Device) : null;
        Ema = new ExponentialMovingAverage(network, options.EmaDecay, Device);
        _optimizer = new ScalarSafe.AdamW(network.parameters(), options.LearningRate, options.AdamBeta1, options.AdamBeta2,
            weightDecay: options.WeightDecay);
        DataFingerprint = DataFingerprint.Of(data, _sampleShape);
    }

    /// <summary>The trainer's options.</summary>
    public DdpmTrainerOptions Options { get; }

    /// <summary>The device training runs on.</summary>
    public Device Device { get; }

    /// <summary>The network being trained.</summary>
    public DenoiserNetwork Network { get; }

    /// <summary>The EMA of the network's weights; sample from <c>Ema.Model</c>.</summary>
    public ExponentialMovingAverage Ema { get; }

    /// <summary>The noise schedule.</summary>
    public NoiseSchedule Schedule { get; }

    /// <summary>Optimisation steps done.</summary>
    public long Step { get; private set; }

    /// <summary>Identity of the training data, stored in checkpoints.</summary>
    public DataFingerprint DataFingerprint { get; }

    /// <summary>The learning rate of step <paramref name="step"/>: linear warm-up, then constant.</summary>
    public double LearningRateAt(long step)
        => LearningRateSchedule.LinearWarmup(Options.LearningRate, Options.WarmupSteps, step);

    /// <summary>Runs one optimisation step and returns its loss.</summary>
    public double TrainStep()
    {
        using var scope = NewDisposeScope();
        int batch = Options.BatchSize, T = Schedule.NumTrainTimesteps;
        var indices = new int[batch];
        var pixels = new float[batch * _sampleLength];
        var labels = new int[batch];
        var timesteps = new long[batch];
        var noise = new float[pixels.Length];

        _order.BatchIndices(Step, indices);
        if (_data.Labels is null) _data.CopyBatch(indices, pixels);
        else _data.CopyBatch(indices, pixels, labels);
        var rng = new SampleNoise(Options.Seed ^ StepStreamTag, Step);
        for (int i = 0; i < batch; i++) timesteps[i] = Math.Min((long)(rng.NextUniform() * T), T - 1); // t ~ Uniform{0..T-1}
        for (int i = 0; i < batch; i++) if (rng.NextUniform() < Options.ClassDropout) labels[i] = Network.ClassCount; // null class
        rng.FillStandardNormal(noise); // eps ~ N(0, I)
        random.manual_seed(Options.Seed * 1_000_003 + Step); // dropout layers

        long[] shape = [batch, .. _sampleShape.Select(d => (long)d)];
        var x0 = tensor(pixels, shape, device: Device);
        var eps = tensor(noise, shape, device: Device);
        var t = tensor(timesteps, device: Device);
        var y = Network.ClassCount > 0 ? tensor(labels.Select(l => (long)l).ToArray(), device: Device) : null;

        foreach (var group in _optimizer.ParamGroups) group.LearningRate = LearningRateAt(Step);
        _optimizer.zero_grad();
        double value = 0;
        int pass = Options.MicroBatchSize ?? batch;
        for (int start = 0; start < batch; start += pass)
        {
            int count = Math.Min(pass, batch - start);
            using var passScope = NewDisposeScope();
            // The mean over the batch is the sum over passes of each pass's mean weighted by its share of the batch.
            var loss = Loss(x0.narrow(0, start, count), t.narrow(0, start, count), eps.narrow(0, start, count), y?.narrow(0, start, count));
            if (count != batch) loss = Layers.Scale(loss, (double)count / batch);
            loss.backward();
            value += loss.item<float>();
        }
        if (Options.GradientClipNorm > 0) nn.utils.clip_grad_norm_(Network.parameters(), Options.GradientClipNorm);
        _optimizer.step();
        Ema.Update(Step);
        Step++;
        if (!double.IsFinite(value))
            throw new InvalidOperationException($"The loss became {value} at step {Step}. Lower the learning rate or enable gradient clipping; resume from the last checkpoint.");
        return value;
    }

    /// <summary>The mean training loss of one pass over x0, t, eps and labels y (null: unconditional).</summary>
    private Tensor Loss(Tensor x0, Tensor t, Tensor eps, Tensor? y)
    {
        var xt = _loss.AddNoise(x0, t, eps);
        var output = Network.call(xt, t.to_type(ScalarType.Float32), y);
        if (_variationalBound is null) return _loss.Compute(output, _loss.Target(x0, t, eps), t);
        // L_hybrid = L_simple + lambda L_vlb with L_vlb = T E_t[L_t] (Nichol and Dhariwal 2021, sec. 3.1)
        var halves = output.chunk(2, 1);
        return Layers.Add(_loss.Compute(halves[0], _loss.Target(x0, t, eps), t),
            Layers.Scale(_variationalBound.Compute(halves[0], halves[1], x0, xt, t).mean(), Options.HybridLossWeight * Schedule.NumTrainTimesteps));
    }

    /// <summary>
    /// Trains until <see cref="Step"/> reaches <paramref name="totalSteps"/>, writing a checkpoint every
    /// <paramref name="checkpointEvery"/> steps, at the end, and when cancelled (then it throws <see cref="OperationCanceledException"/>).
    /// </summary>
    /// <param name="totalSteps">Step count to reach.</param>
    /// <param name="checkpointPath">Checkpoint file, or null for none.</param>
    /// <param name="checkpointEvery">Steps between checkpoints; 0 writes only at the end.</param>
    /// <param name="progress">Receives progress after each step.</param>
    /// <param name="cancellationToken">Stops training after the current step.</param>
    public void Train(long totalSteps, string? checkpointPath = null, int checkpointEvery = 0, IProgress<TrainingProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        TrainingLoop.Run(() => Step, totalSteps, Options.BatchSize, TrainStep,
            progress is null ? null : (step, loss, rate, left) => progress.Report(new TrainingProgress(step, totalSteps, loss, rate, left)),
            checkpointPath is null ? null : () => SaveCheckpoint(checkpointPath), checkpointEvery, cancellationToken);
        if (checkpointPath is not null) SaveCheckpoint(checkpointPath);
    }

    /// <summary>Writes the full training state atomically to <paramref name="path"/>.</summary>
    public void SaveCheckpoint(string path)
    {
        var manifest = new CheckpointManifest
        {
            ModelKind = Network.Kind,
            ModelConfig = Network.ConfigJson,
            Trainer = Options,
            Step = Step,
            Data = DataFingerprint,
            ClassNames = _data.ClassNames,
            EntryHashes = new Dictionary<string, string>(),
        };
        Checkpoint.Save(path, manifest, Network, Ema.Model, _optimizer);
    }

    /// <summary>Continues a run from a checkpoint, on the same data.</summary>
    /// <exception cref="ArgumentException">The data differs from the data the checkpoint was trained on.</exception>
    public static DdpmTrainer Resume(string checkpointPath, ImageDataset data, Device? device = null)
    {
        TorchSharpRuntime.EnsureLoaded();
        var checkpoint = Checkpoint.Load(checkpointPath);
        if (!checkpoint.CanResume)
            throw new ArgumentException($"Checkpoint '{checkpointPath}' is a sampling-only copy (EMA weights alone) and cannot resume training; resume from the full checkpoint.", nameof(checkpointPath));
        var network = DenoiserNetwork.Create(checkpoint.Manifest.ModelKind, checkpoint.Manifest.ModelConfig);
        checkpoint.LoadInto(network, Checkpoint.ModelEntry);
        var trainer = new DdpmTrainer(network, data, checkpoint.Manifest.Trainer, device);
        if (!trainer.DataFingerprint.SameDataAs(checkpoint.Manifest.Data))
        {
            trainer.Dispose();
            throw new ArgumentException(
                $"Checkpoint '{checkpointPath}' was trained on different data ({checkpoint.Manifest.Data}) than given ({trainer.DataFingerprint}). " +
                "Resume with the same data set, or start a new run.", nameof(data));
        }
        checkpoint.LoadInto(trainer.Ema.Model, Checkpoint.EmaEntry);
        checkpoint.LoadOptimizer(trainer._optimizer);
        trainer.Step = checkpoint.Manifest.Step;
        return trainer;
    }

    /// <summary>
    /// Starts fine-tuning a trained model: a new run whose network is <paramref name="pretrained"/>'s with its EMA weights,
    /// and whose noise schedule and prediction type are the checkpoint's (they replace those of <paramref name="options"/>:
    /// the network was trained for them). The optimizer, the warm-ups and the step count start fresh.
    /// </summary>
    /// <param name="pretrained">The trained model (a full or a sampling-only checkpoint).</param>
    /// <param name="data">The data to fine-tune on, of the network's sample shape and at most its classes.</param>
    /// <param name="options">The run's options; <see cref="DdpmTrainerOptions.Schedule"/> and <see cref="DdpmTrainerOptions.PredictionType"/> are replaced.</param>
    /// <param name="device">Device to train on (default CPU).</param>
    /// <exception cref="ArgumentException">The data does not fit the network (the network is released).</exception>
    public static DdpmTrainer FineTune(Checkpoint pretrained, ImageDataset data, DdpmTrainerOptions options, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(pretrained);
        ArgumentNullException.ThrowIfNull(options);
        var trained = pretrained.Manifest.Trainer;
        var network = pretrained.LoadNetwork(useEma: true, device);
        try
        {
            return new DdpmTrainer(network, data, options with { Schedule = trained.Schedule, PredictionType = trained.PredictionType }, device);
        }
        catch
        {
            network.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _optimizer.Dispose();
        _loss.Dispose();
        _variationalBound?.Dispose();
        Ema.Dispose();
    }
}
