namespace Diffusion.ML.TorchSharp.Evaluation;

/// <summary>
/// Settings of <see cref="FeatureClassifierTrainer"/>. The defaults are the recipe of the shipped Fashion-MNIST feature
/// network: AdamW, linear warm-up then cosine decay, random horizontal flips and shifts of up to 2 pixels.
/// </summary>
public sealed record FeatureClassifierTrainerOptions
{
    /// <summary>Passes over the training set. Default 12.</summary>
    public int Epochs { get; init; } = 12;

    /// <summary>Examples per optimisation step. Default 128.</summary>
    public int BatchSize { get; init; } = 128;

    /// <summary>Peak AdamW learning rate. Default 2e-3.</summary>
    public double LearningRate { get; init; } = 2e-3;

    /// <summary>AdamW decoupled weight decay. Default 0.01 (PyTorch's default).</summary>
    public double WeightDecay { get; init; } = 0.01;

    /// <summary>Steps of linear learning-rate warm-up before the cosine decay. Default 200.</summary>
    public int WarmupSteps { get; init; } = 200;

    /// <summary>Label smoothing of the cross-entropy loss (0 keeps the logits sharp for the Inception Score). Default 0.</summary>
    public double LabelSmoothing { get; init; }

    /// <summary>Whether training images are flipped left-right with probability 1/2. Default true.</summary>
    public bool HorizontalFlip { get; init; } = true;

    /// <summary>Largest random shift in pixels, per axis, of a training image (filled with the background value -1). Default 2.</summary>
    public int MaxShift { get; init; } = 2;

    /// <summary>Seed of the data order, the augmentation and the dropout masks. Default 0.</summary>
    public long Seed { get; init; }

    /// <summary>Checks the options.</summary>
    /// <exception cref="ArgumentException">A value is out of range; the message says which.</exception>
    public void Validate()
    {
        if (Epochs < 1) throw new ArgumentException($"Epochs must be at least 1; got {Epochs}.", nameof(Epochs));
        if (BatchSize < 1) throw new ArgumentException($"BatchSize must be at least 1; got {BatchSize}.", nameof(BatchSize));
        if (!(LearningRate > 0) || !double.IsFinite(LearningRate)) throw new ArgumentException($"LearningRate must be positive; got {LearningRate}.", nameof(LearningRate));
        if (WeightDecay < 0) throw new ArgumentException($"WeightDecay must not be negative; got {WeightDecay}.", nameof(WeightDecay));
        if (WarmupSteps < 0) throw new ArgumentException($"WarmupSteps must not be negative; got {WarmupSteps}.", nameof(WarmupSteps));
        if (LabelSmoothing is < 0 or >= 1) throw new ArgumentException($"LabelSmoothing must be in [0, 1); got {LabelSmoothing}.", nameof(LabelSmoothing));
        if (MaxShift < 0) throw new ArgumentException($"MaxShift must not be negative; got {MaxShift}.", nameof(MaxShift));
    }
}
