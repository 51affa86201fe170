using Diffusion.ML.Data;
using Diffusion.ML.Sampling;
using Diffusion.ML.TorchSharp.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Diffusion.ML.TorchSharp.Evaluation;

/// <summary>
/// Trains a <see cref="FeatureClassifier"/> with cross-entropy: AdamW, linear warm-up then cosine decay, random
/// horizontal flips and shifts. Every random choice of step k (batch, flips, shifts, dropout masks) is a pure function
/// of (seed, k), so with the same initial weights, data and thread count a run is reproducible.
/// </summary>
public sealed class FeatureClassifierTrainer : IDisposable
{
    private const long AugmentStreamTag = 0x0A06_3E17;
    private readonly ImageDataset _data;
    private readonly DataOrder _order;
    private readonly OptimizerHelper _optimizer;
    private readonly long[] _inputShape;

    /// <summary>Starts training <paramref name="network"/> from its current weights.</summary>
    /// <param name="network">The classifier; it is moved to <paramref name="device"/> and put in training mode.</param>
    /// <param name="data">Labelled training images of the network's input shape, pixels in [-1, 1].</param>
    /// <param name="options">Trainer options; null means the defaults.</param>
    /// <param name="device">Device to train on (default CPU).</param>
    /// <exception cref="ArgumentException">The data does not fit the network or the options are invalid.</exception>
    public FeatureClassifierTrainer(FeatureClassifier network, ImageDataset data, FeatureClassifierTrainerOptions? options = null, Device? device = null)
    {
        TorchSharpRuntime.EnsureLoaded();
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(data);
        Options = options ?? new FeatureClassifierTrainerOptions();
        Options.Validate();
        CheckData(network, data, nameof(data));
        Network = network;
        Device = device ?? CPU;
        Network.to(Device);
        Network.train();
        _data = data;
        _inputShape = network.InputShape;
        _order = new DataOrder(data.Count, Options.BatchSize, Options.Seed);
        _optimizer = new ScalarSafe.AdamW(network.parameters(), Options.LearningRate, weightDecay: Options.WeightDecay);
        TotalSteps = (long)Math.Ceiling((double)Options.Epochs * data.Count / Options.BatchSize);
    }

    /// <summary>The trainer's options.</summary>
    public FeatureClassifierTrainerOptions Options { get; }

    /// <summary>The device training runs on.</summary>
    public Device Device { get; }

    /// <summary>The network being trained.</summary>
    public FeatureClassifier Network { get; }

    /// <summary>Optimisation steps done.</summary>
    public long Step { get; private set; }

    /// <summary>Steps of the whole run: ceil(Epochs * N / BatchSize).</summary>
    public long TotalSteps { get; }

    /// <summary>The learning rate of step <paramref name="step"/>: linear warm-up, then cosine decay to 0 at <see cref="TotalSteps"/>.</summary>
    public double LearningRateAt(long step) =>
        Training.LearningRateSchedule.WarmupCosine(Options.LearningRate, Options.WarmupSteps, TotalSteps, step);

    /// <summary>Runs one optimisation step and returns its loss.</summary>
    /// <exception cref="InvalidOperationException">The loss is not finite.</exception>
    public double TrainStep()
    {
        using var scope = NewDisposeScope();
        int batch = Options.BatchSize, length = _data.ImageLength;
        var indices = new int[batch];
        var pixels = new float[batch * length];
        var augmented = new float[pixels.Length];
        var labels = new int[batch];
        _order.BatchIndices(Step, indices);
        _data.CopyBatch(indices, pixels, labels);
        var rng = new SampleNoise(Options.Seed ^ AugmentStreamTag, Step);
        for (int i = 0; i < batch; i++)
        {
            bool flip = Options.HorizontalFlip && rng.NextUniform() < 0.5;
            int dx = Shift(rng.NextUniform()), dy = Shift(rng.NextUniform());
            Augment(pixels.AsSpan(i * length, length), augmented.AsSpan(i * length, length), flip, dx, dy);
        }
        random.manual_seed(Options.Seed * 1_000_003 + Step); // dropout masks

        var x = tensor(augmented, [batch, .. _inputShape], device: Device);
        var y = tensor(labels.Select(l => (long)l).ToArray(), device: Device);
        foreach (var group in _optimizer.ParamGroups) group.LearningRate = LearningRateAt(Step);
        _optimizer.zero_grad();
        var loss = nn.functional.cross_entropy(Network.call(x), y, label_smoothing: Options.LabelSmoothing);
        loss.backward();
        _optimizer.step();
        Step++;
        double value = loss.item<float>();
        if (!double.IsFinite(value))
            throw new InvalidOperationException($"The loss became {value} at step {Step}. Lower the learning rate.");
        return value;
    }

    /// <summary>Trains until <see cref="Step"/> reaches <see cref="TotalSteps"/>.</summary>
    /// <param name="progress">Receives progress after each step.</param>
    /// <param name="cancellationToken">Stops training after the current step (then it throws <see cref="OperationCanceledException"/>).</param>
    public void Train(IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        Network.train();
        TrainingLoop.Run(() => Step, TotalSteps, Options.BatchSize, TrainStep,
            progress is null ? null : (step, loss, rate, left) => progress.Report(new TrainingProgress(step, TotalSteps, loss, rate, left)),
            save: null, checkpointEvery: 0, cancellationToken);
        Network.eval();
    }

    /// <summary>
    /// Measures the accuracy of <paramref name="network"/> on labelled images, in eval mode without gradients (the
    /// network's training mode is restored afterwards).
    /// </summary>
    /// <param name="network">The classifier.</param>
    /// <param name="data">Labelled images of the network's input shape.</param>
    /// <param name="device">Device the network lives on (default CPU).</param>
    /// <param name="batchSize">Images per forward pass.</param>
    /// <exception cref="ArgumentException">The data does not fit the network.</exception>
    public static ClassifierAccuracy Evaluate(FeatureClassifier network, ImageDataset data, Device? device = null, int batchSize = TorchSharpRuntime.CpuBatchSize)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        CheckData(network, data, nameof(data));
        device ??= CPU;
        bool wasTraining = network.training;
        network.eval();
        var correct = new int[network.ClassCount];
        var total = new int[network.ClassCount];
        try
        {
            using var noGrad = no_grad();
            for (int start = 0; start < data.Count; start += batchSize)
            {
                using var scope = NewDisposeScope();
                int n = Math.Min(batchSize, data.Count - start);
                var x = tensor(data.Pixels.AsSpan(start * data.ImageLength, n * data.ImageLength).ToArray(), [n, .. network.InputShape], device: device);
                long[] predicted = network.call(x).argmax(1).to(CPU).data<long>().ToArray();
                for (int i = 0; i < n; i++)
                {
                    int label = data.Labels![start + i];
                    total[label]++;
                    if (predicted[i] == label) correct[label]++;
                }
            }
        }
        finally
        {
            network.train(wasTraining);
        }
        return new ClassifierAccuracy(data.Count, correct.Sum(),
            Enumerable.Range(0, correct.Length).Select(c => total[c] == 0 ? double.NaN : (double)correct[c] / total[c]).ToArray());
    }

    private int Shift(double u) => Options.MaxShift == 0 ? 0 : Math.Min((int)(u * (2 * Options.MaxShift + 1)), 2 * Options.MaxShift) - Options.MaxShift;

    /// <summary>out(c, y, x) = in(c, y - dy, x') with x' = x - dx, mirrored when flipping; -1 (background) outside the image.</summary>
    private void Augment(ReadOnlySpan<float> source, Span<float> target, bool flip, int dx, int dy)
    {
        int channels = (int)_inputShape[0], height = (int)_inputShape[1], width = (int)_inputShape[2];
        for (int c = 0; c < channels; c++)
        for (int y = 0; y < height; y++)
        {
            int sy = y - dy;
            for (int x = 0; x < width; x++)
            {
                int sx = x - dx;
                if (flip) sx = width - 1 - sx;
                target[(c * height + y) * width + x] = sy < 0 || sy >= height || sx < 0 || sx >= width
                    ? -1f
                    : source[(c * height + sy) * width + sx];
            }
        }
    }

    private static void CheckData(FeatureClassifier network, ImageDataset data, string paramName)
    {
        long[] shape = network.InputShape;
        if (data.Count == 0) throw new ArgumentException("The data set is empty.", paramName);
        if (data.Channels != shape[0] || data.Height != shape[1] || data.Width != shape[2])
            throw new ArgumentException(
                $"The data's images are {data.Channels}x{data.Height}x{data.Width} but the network takes {shape[0]}x{shape[1]}x{shape[2]}.", paramName);
        if (data.Labels is null) throw new ArgumentException("A classifier needs labelled data; the data set has no labels.", paramName);
        if (data.ClassCount > network.ClassCount)
            throw new ArgumentException($"The data has {data.ClassCount} classes but the network only {network.ClassCount}.", paramName);
    }

    /// <inheritdoc />
    public void Dispose() => _optimizer.Dispose();
}

/// <summary>The accuracy of a classifier on a labelled data set.</summary>
/// <param name="Count">Images evaluated.</param>
/// <param name="Correct">Images whose arg-max logit is their label.</param>
/// <param name="PerClass">Accuracy per class (NaN for a class with no images).</param>
public sealed record ClassifierAccuracy(int Count, int Correct, IReadOnlyList<double> PerClass)
{
    /// <summary>Correct / Count.</summary>
    public double Accuracy => Count == 0 ? double.NaN : (double)Correct / Count;
}
