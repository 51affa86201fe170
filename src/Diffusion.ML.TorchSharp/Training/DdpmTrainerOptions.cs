using Diffusion.ML.Sampling;
using Diffusion.ML.Schedules;

namespace Diffusion.ML.TorchSharp.Training;

/// <summary>Options of <see cref="DdpmTrainer"/>. Stored in every checkpoint, so a resumed run continues with the same settings.</summary>
public sealed record DdpmTrainerOptions
{
    /// <summary>The forward-process noise schedule. Default: linear betas 1e-4..0.02 over 1000 steps (Ho et al. 2020).</summary>
    public NoiseScheduleOptions Schedule { get; init; } = new();

    /// <summary>What the network learns to predict. Default <see cref="PredictionType.Epsilon"/>.</summary>
    public PredictionType PredictionType { get; init; } = PredictionType.Epsilon;

    /// <summary>Images per optimisation step. Default 64.</summary>
    public int BatchSize { get; init; } = 64;

    /// <summary>
    /// Images per forward and backward pass: a step over <see cref="BatchSize"/> images runs in passes of at most this
    /// many and adds up their gradients, each pass's mean loss weighted by its share of the batch, which is the gradient
    /// of the whole batch's mean loss (dropout masks are drawn per pass, so a run with dropout differs from one without
    /// micro-batches by its random draws alone). On the CPU, batches above 64 train faster so (docs/training.md,
    /// "Micro-batches"); it also bounds the activations' memory. Null (the default): the whole batch in one pass.
    /// </summary>
    public int? MicroBatchSize { get; init; }

    /// <summary>Peak AdamW learning rate. Default 2e-4.</summary>
    public double LearningRate { get; init; } = 2e-4;

    /// <summary>Steps of linear learning-rate warm-up from 0 to <see cref="LearningRate"/>. Default 100.</summary>
    public int WarmupSteps { get; init; } = 100;

    /// <summary>AdamW decoupled weight decay (Loshchilov and Hutter 2019). Default 0.</summary>
    public double WeightDecay { get; init; }

    /// <summary>AdamW beta1. Default 0.9.</summary>
    public double AdamBeta1 { get; init; } = 0.9;

    /// <summary>AdamW beta2. Default 0.999.</summary>
    public double AdamBeta2 { get; init; } = 0.999;

    /// <summary>Gradients are rescaled so that their global L2 norm is at most this; 0 disables clipping. Default 1.</summary>
    public double GradientClipNorm { get; init; } = 1.0;

    /// <summary>
    /// Largest EMA decay. The decay used at optimisation step k is min(EmaDecay, (1 + k) / (10 + k)), the warm-up of
    /// diffusers' EMAModel, so short runs still get a useful average. Default 0.9999.
    /// </summary>
    public double EmaDecay { get; init; } = 0.9999;

    /// <summary>
    /// Min-SNR-gamma loss weighting (Hang et al. 2023, eq. 8-9): weight min(SNR, gamma) expressed for the prediction type.
    /// Null disables it (plain MSE, Ho et al. 2020's L_simple). Typical value 5. Default null.
    /// </summary>
    public double? MinSnrGamma { get; init; }

    /// <summary>Probability of replacing a label by the null class, which trains the unconditional model of classifier-free guidance (Ho and Salimans 2022). Default 0.1.</summary>
    public double ClassDropout { get; init; } = 0.1;

    /// <summary>
    /// lambda of the hybrid objective L_simple + lambda L_vlb (Nichol and Dhariwal 2021, sec. 3.1), used when the network
    /// learns its variance (<see cref="Modules.DenoiserNetwork.LearnsVariance"/>); L_vlb = T E_t[L_t]. Default 0.001.
    /// </summary>
    public double HybridLossWeight { get; init; } = 0.001;

    /// <summary>
    /// For a latent diffusion model (Rombach et al. 2022): the autoencoder whose scaled latents are the training data,
    /// stored with the checkpoint so that sampling decodes with it and resuming re-encodes with it. Null for pixel models.
    /// </summary>
    public Autoencoders.LatentAutoencoderReference? LatentAutoencoder { get; init; }

    /// <summary>Seed of every random choice (data order, timesteps, noise, label dropout, dropout layers). Default 0.</summary>
    public long Seed { get; init; }

    /// <summary>Checks the options and says what is wrong.</summary>
    /// <exception cref="ArgumentException">An option is out of range.</exception>
    public void Validate()
    {
        Schedule.Validate();
        if (BatchSize < 1) throw new ArgumentException($"BatchSize must be >= 1, got {BatchSize}.", nameof(BatchSize));
        if (MicroBatchSize is < 1) throw new ArgumentException($"MicroBatchSize must be >= 1 or null (the whole batch), got {MicroBatchSize}.", nameof(MicroBatchSize));
        if (!(LearningRate > 0)) throw new ArgumentException($"LearningRate must be > 0, got {LearningRate}.", nameof(LearningRate));
        if (WarmupSteps < 0) throw new ArgumentException($"WarmupSteps must be >= 0, got {WarmupSteps}.", nameof(WarmupSteps));
        if (!(WeightDecay >= 0)) throw new ArgumentException($"WeightDecay must be >= 0, got {WeightDecay}.", nameof(WeightDecay));
        if (!(GradientClipNorm >= 0)) throw new ArgumentException($"GradientClipNorm must be >= 0, got {GradientClipNorm}.", nameof(GradientClipNorm));
        if (!(EmaDecay >= 0 && EmaDecay < 1)) throw new ArgumentException($"EmaDecay must lie in [0, 1), got {EmaDecay}.", nameof(EmaDecay));
        if (MinSnrGamma is { } g && !(g > 0)) throw new ArgumentException($"MinSnrGamma must be > 0, got {g}.", nameof(MinSnrGamma));
        if (!(HybridLossWeight >= 0) || double.IsInfinity(HybridLossWeight))
            throw new ArgumentException($"HybridLossWeight must be finite and >= 0, got {HybridLossWeight}.", nameof(HybridLossWeight));
        if (!(ClassDropout >= 0 && ClassDropout < 1)) throw new ArgumentException($"ClassDropout must lie in [0, 1), got {ClassDropout}.", nameof(ClassDropout));
    }
}
