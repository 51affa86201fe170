namespace Diffusion.ML.TorchSharp.Autoencoders;

/// <summary>Options of <see cref="AutoencoderTrainer"/>; stored in every checkpoint, so a resumed run keeps them.</summary>
public sealed record AutoencoderTrainerOptions
{
    /// <summary>Images per optimisation step. Default 64.</summary>
    public int BatchSize { get; init; } = 64;

    /// <summary>Peak AdamW learning rate. Default 1e-3.</summary>
    public double LearningRate { get; init; } = 1e-3;

    /// <summary>Linear warm-up steps of the learning rate. Default 0.</summary>
    public int WarmupSteps { get; init; }

    /// <summary>AdamW decoupled weight decay. Default 0.</summary>
    public double WeightDecay { get; init; }

    /// <summary>AdamW beta1. Default 0.9.</summary>
    public double AdamBeta1 { get; init; } = 0.9;

    /// <summary>AdamW beta2. Default 0.999.</summary>
    public double AdamBeta2 { get; init; } = 0.999;

    /// <summary>Global gradient-norm clip; 0 disables it. Default 1.</summary>
    public double GradientClipNorm { get; init; } = 1.0;

    /// <summary>Largest decay of an EMA of the weights (warm-up min(d, (1 + k) / (10 + k))); null keeps no EMA. Default null.</summary>
    public double? EmaDecay { get; init; }

    /// <summary>Images of the training set (the first ones) used to compute the latent scale factor at the end of training. Default 1024.</summary>
    public int LatentScaleSamples { get; init; } = 1024;

    /// <summary>Seed of every random choice of training (data order, noise, corruption, codebook restarts). Default 0.</summary>
    public long Seed { get; init; }

    /// <summary>Checks the options and says what is wrong.</summary>
    /// <exception cref="ArgumentException">An option is out of range.</exception>
    public void Validate()
    {
        if (BatchSize < 1) throw new ArgumentException($"BatchSize must be >= 1, got {BatchSize}.", nameof(BatchSize));
        if (!(LearningRate > 0 && double.IsFinite(LearningRate))) throw new ArgumentException($"LearningRate must be finite and > 0, got {LearningRate}.", nameof(LearningRate));
        if (WarmupSteps < 0) throw new ArgumentException($"WarmupSteps must be >= 0, got {WarmupSteps}.", nameof(WarmupSteps));
        if (!(WeightDecay >= 0)) throw new ArgumentException($"WeightDecay must be >= 0, got {WeightDecay}.", nameof(WeightDecay));
        if (!(GradientClipNorm >= 0)) throw new ArgumentException($"GradientClipNorm must be >= 0, got {GradientClipNorm}.", nameof(GradientClipNorm));
        if (EmaDecay is { } d && !(d >= 0 && d < 1)) throw new ArgumentException($"EmaDecay must lie in [0, 1), got {d}.", nameof(EmaDecay));
        if (LatentScaleSamples < 1) throw new ArgumentException($"LatentScaleSamples must be >= 1, got {LatentScaleSamples}.", nameof(LatentScaleSamples));
    }
}
