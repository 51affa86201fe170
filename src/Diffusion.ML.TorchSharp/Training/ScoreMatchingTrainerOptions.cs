namespace Diffusion.ML.TorchSharp.Training;

/// <summary>Options of <see cref="ScoreMatchingTrainer"/>.</summary>
public sealed record ScoreMatchingTrainerOptions
{
    /// <summary>Points per optimisation step. Default 128.</summary>
    public int BatchSize { get; init; } = 128;

    /// <summary>Peak AdamW learning rate. Default 1e-3 (Song and Ermon 2019 use 1e-3 with Adam).</summary>
    public double LearningRate { get; init; } = 1e-3;

    /// <summary>Steps of linear learning-rate warm-up from 0 to <see cref="LearningRate"/>. Default 0.</summary>
    public int WarmupSteps { get; init; }

    /// <summary>AdamW decoupled weight decay (Loshchilov and Hutter 2019). Default 0.</summary>
    public double WeightDecay { get; init; }

    /// <summary>AdamW beta1. Default 0.9.</summary>
    public double AdamBeta1 { get; init; } = 0.9;

    /// <summary>AdamW beta2. Default 0.999.</summary>
    public double AdamBeta2 { get; init; } = 0.999;

    /// <summary>Gradients are rescaled so that their global L2 norm is at most this; 0 disables clipping. Default 1.</summary>
    public double GradientClipNorm { get; init; } = 1.0;

    /// <summary>
    /// Largest decay of the exponential moving average of the weights (NCSNv2, Song and Ermon 2020, technique 5, uses 0.999).
    /// The decay after step k is min(EmaDecay, (1 + k) / (10 + k)); 0 makes the average a copy of the latest weights. Default 0.999.
    /// </summary>
    public double EmaDecay { get; init; } = 0.999;

    /// <summary>Seed of every random choice (data order, noise levels, noise). Default 0.</summary>
    public long Seed { get; init; }

    /// <summary>Checks the options and says what is wrong.</summary>
    /// <exception cref="ArgumentException">An option is out of range.</exception>
    public void Validate()
    {
        if (BatchSize < 1) throw new ArgumentException($"BatchSize must be >= 1, got {BatchSize}.", nameof(BatchSize));
        if (!(LearningRate > 0)) throw new ArgumentException($"LearningRate must be > 0, got {LearningRate}.", nameof(LearningRate));
        if (WarmupSteps < 0) throw new ArgumentException($"WarmupSteps must be >= 0, got {WarmupSteps}.", nameof(WarmupSteps));
        if (!(WeightDecay >= 0)) throw new ArgumentException($"WeightDecay must be >= 0, got {WeightDecay}.", nameof(WeightDecay));
        if (!(GradientClipNorm >= 0)) throw new ArgumentException($"GradientClipNorm must be >= 0, got {GradientClipNorm}.", nameof(GradientClipNorm));
        if (!(EmaDecay >= 0 && EmaDecay < 1)) throw new ArgumentException($"EmaDecay must lie in [0, 1), got {EmaDecay}.", nameof(EmaDecay));
    }
}
