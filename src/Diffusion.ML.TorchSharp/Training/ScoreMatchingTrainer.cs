using Diffusion.ML.Langevin;
using Diffusion.ML.Sampling;
using Diffusion.ML.TorchSharp.Modules;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Diffusion.ML.TorchSharp.Training;

/// <summary>
/// Trains a <see cref="NoiseConditionalScoreMlp"/> by denoising score matching over noise levels (Song and Ermon 2019,
/// eq. 6 with lambda(sigma) = sigma^2, <see cref="DenoisingScoreMatchingLoss"/>): each step draws a batch of points, one
/// level per point uniformly from the L levels and z ~ N(0, I), and takes an AdamW step; an exponential moving average of
/// the weights is kept for sampling. Every random choice of step k is a pure function of (seed, k), so two runs with the
/// same seed and initial weights give the same network.
/// </summary>
public sealed class ScoreMatchingTrainer : IDisposable
{
    private const long StepStreamTag = 0x5C0BE5EED;
    private readonly float[] _data;
    private readonly int _dimension;
    private readonly DataOrder _order;
    private readonly OptimizerHelper _optimizer;
    private readonly ExponentialMovingAverage<NoiseConditionalScoreMlp> _ema;

    /// <summary>Starts training <paramref name="network"/> from its current weights.</summary>
    /// <param name="network">The network; it is moved to <paramref name="device"/>.</param>
    /// <param name="data">Training points, row-major count x InputDim.</param>
    /// <param name="levels">The noise levels sigma_1 &gt; ... &gt; sigma_L.</param>
    /// <param name="options">Trainer options; null means the defaults.</param>
    /// <param name="device">Device to train on (default CPU).</param>
    /// <exception cref="ArgumentException">The data is empty or not a whole number of points, or an option is out of range.</exception>
    public ScoreMatchingTrainer(NoiseConditionalScoreMlp network, float[] data, NoiseLevels levels, ScoreMatchingTrainerOptions? options = null,
        Device? device = null)
    {
        TorchSharpRuntime.EnsureLoaded();
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(levels);
        Options = options ?? new ScoreMatchingTrainerOptions();
        Options.Validate();
        _dimension = network.Options.InputDim;
        if (data.Length == 0 || data.Length % _dimension != 0)
            throw new ArgumentException($"The data must hold a positive whole number of {_dimension}-D points; got {data.Length} values.", nameof(data));
        if (!data.All(float.IsFinite)) throw new ArgumentException("The data holds a value that is not finite.", nameof(data));

        _data = data;
        PointCount = data.Length / _dimension;
        Levels = levels;
        Device = device ?? CPU;
        Network = network;
        Network.to(Device);
        Network.train();
        var average = new NoiseConditionalScoreMlp(network.Options);
        average.to(Device);
        _ema = new ExponentialMovingAverage<NoiseConditionalScoreMlp>(network, average, Options.EmaDecay);
        _order = new DataOrder(PointCount, Options.BatchSize, Options.Seed);
        _optimizer = new ScalarSafe.AdamW(network.parameters(), Options.LearningRate, Options.AdamBeta1, Options.AdamBeta2, weightDecay: Options.WeightDecay);
    }

    /// <summary>The trainer's options.</summary>
    public ScoreMatchingTrainerOptions Options { get; }

    /// <summary>The noise levels the network is trained on.</summary>
    public NoiseLevels Levels { get; }

    /// <summary>Number of training points.</summary>
    public int PointCount { get; }

    /// <summary>The device training runs on.</summary>
    public Device Device { get; }

    /// <summary>The network being trained.</summary>
    public NoiseConditionalScoreMlp Network { get; }

    /// <summary>The exponential moving average of the network's weights, in eval mode; sample from it.</summary>
    public NoiseConditionalScoreMlp Ema => _ema.Model;

    /// <summary>Optimisation steps done.</summary>
    public long Step { get; private set; }

    /// <summary>The learning rate of step <paramref name="step"/>: linear warm-up, then constant.</summary>
    public double LearningRateAt(long step)
        => LearningRateSchedule.LinearWarmup(Options.LearningRate, Options.WarmupSteps, step);

    /// <summary>The EMA decay applied after step <paramref name="step"/> (0-based): min(EmaDecay, (1 + k) / (10 + k)).</summary>
    public double EmaDecayAt(long step) => _ema.DecayAt(step);

    /// <summary>Runs one optimisation step and returns its loss.</summary>
    /// <exception cref="InvalidOperationException">The loss is not finite.</exception>
    public double TrainStep()
    {
        using var scope = NewDisposeScope();
        int batch = Options.BatchSize, levelCount = Levels.Count;
        var indices = new int[batch];
        var points = new float[batch * _dimension];
        var sigmas = new float[batch];
        var noise = new float[points.Length];

        _order.BatchIndices(Step, indices);
        for (int i = 0; i < batch; i++) Array.Copy(_data, indices[i] * _dimension, points, i * _dimension, _dimension);
        var rng = new SampleNoise(Options.Seed ^ StepStreamTag, Step);
        for (int i = 0; i < batch; i++) sigmas[i] = (float)Levels[Math.Min((int)(rng.NextUniform() * levelCount), levelCount - 1)]; // i ~ Uniform{1..L}
        rng.FillStandardNormal(noise); // z ~ N(0, I)

        var x = tensor(points, [batch, _dimension], device: Device);
        var sigma = tensor(sigmas, device: Device);
        var z = tensor(noise, [batch, _dimension], device: Device);

        foreach (var group in _optimizer.ParamGroups) group.LearningRate = LearningRateAt(Step);
        _optimizer.zero_grad();
        var loss = DenoisingScoreMatchingLoss.Compute(Network.call, x, sigma, z);
        loss.backward();
        if (Options.GradientClipNorm > 0) nn.utils.clip_grad_norm_(Network.parameters(), Options.GradientClipNorm);
        _optimizer.step();
        _ema.Update(Step);
        Step++;
        double value = loss.item<float>();
        if (!double.IsFinite(value))
            throw new InvalidOperationException($"The loss became {value} at step {Step}. Lower the learning rate or enable gradient clipping.");
        return value;
    }

    /// <summary>Trains until <see cref="Step"/> reaches <paramref name="totalSteps"/>.</summary>
    /// <param name="totalSteps">Step count to reach.</param>
    /// <param name="progress">Receives progress after each step.</param>
    /// <param name="cancellationToken">Stops training after the current step (then it throws <see cref="OperationCanceledException"/>).</param>
    public void Train(long totalSteps, IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default) =>
        TrainingLoop.Run(() => Step, totalSteps, Options.BatchSize, TrainStep,
            progress is null ? null : (step, loss, rate, left) => progress.Report(new TrainingProgress(step, totalSteps, loss, rate, left)),
            save: null, checkpointEvery: 0, cancellationToken);

    /// <inheritdoc />
    public void Dispose()
    {
        _optimizer.Dispose();
        _ema.Dispose();
    }
}
