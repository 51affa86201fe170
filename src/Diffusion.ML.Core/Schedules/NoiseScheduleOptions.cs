namespace Diffusion.ML.Schedules;

/// <summary>
/// The configuration a <see cref="NoiseSchedule"/> is built from. Names follow diffusers' scheduler config
/// (<c>num_train_timesteps</c>, <c>beta_start</c>, <c>beta_end</c>, <c>beta_schedule</c>, <c>rescale_betas_zero_snr</c>).
/// </summary>
public sealed record NoiseScheduleOptions
{
    /// <summary>Number of diffusion steps T used in training. Default 1000.</summary>
    public int NumTrainTimesteps { get; init; } = 1000;

    /// <summary>Layout of the betas. Default <see cref="BetaSchedule.Linear"/>.</summary>
    public BetaSchedule BetaSchedule { get; init; } = BetaSchedule.Linear;

    /// <summary>First beta for <see cref="BetaSchedule.Linear"/> and <see cref="BetaSchedule.ScaledLinear"/>. Default 1e-4 (Ho et al. 2020).</summary>
    public double BetaStart { get; init; } = 1e-4;

    /// <summary>Last beta for <see cref="BetaSchedule.Linear"/> and <see cref="BetaSchedule.ScaledLinear"/>. Default 0.02 (Ho et al. 2020).</summary>
    public double BetaEnd { get; init; } = 0.02;

    /// <summary>Offset s of the cosine schedule. Default 0.008 (Nichol and Dhariwal 2021).</summary>
    public double CosineOffset { get; init; } = 0.008;

    /// <summary>Sigmoid schedule: start of the sigmoid's input range. Default -3.</summary>
    public double SigmoidStart { get; init; } = -3;

    /// <summary>Sigmoid schedule: end of the sigmoid's input range. Default 3.</summary>
    public double SigmoidEnd { get; init; } = 3;

    /// <summary>Sigmoid schedule: temperature tau. Default 1.</summary>
    public double SigmoidTau { get; init; } = 1;

    /// <summary>Largest beta the cosine and sigmoid schedules may produce. Default 0.999 (Nichol and Dhariwal 2021).</summary>
    public double MaxBeta { get; init; } = 0.999;

    /// <summary>
    /// Rescale so that the last step has zero signal-to-noise ratio (Lin et al. 2024, Alg. 1). Pair it with
    /// v-prediction: epsilon-prediction cannot recover x0 at alpha-bar = 0. Default false.
    /// </summary>
    public bool RescaleZeroTerminalSnr { get; init; }

    /// <summary>Checks the options and says what is wrong.</summary>
    /// <exception cref="ArgumentException">An option is out of range.</exception>
    public void Validate()
    {
        if (NumTrainTimesteps < 2)
            throw new ArgumentException($"NumTrainTimesteps must be at least 2, got {NumTrainTimesteps}.", nameof(NumTrainTimesteps));
        if (BetaSchedule is BetaSchedule.Linear or BetaSchedule.ScaledLinear)
        {
            if (!(BetaStart > 0 && BetaEnd < 1 && BetaStart <= BetaEnd))
                throw new ArgumentException($"Betas must satisfy 0 < BetaStart <= BetaEnd < 1, got BetaStart={BetaStart}, BetaEnd={BetaEnd}.", nameof(BetaStart));
        }
        if (!(MaxBeta > 0 && MaxBeta < 1))
            throw new ArgumentException($"MaxBeta must lie in (0, 1), got {MaxBeta}.", nameof(MaxBeta));
        if (!(CosineOffset >= 0))
            throw new ArgumentException($"CosineOffset must be >= 0, got {CosineOffset}.", nameof(CosineOffset));
        if (!(SigmoidEnd > SigmoidStart) || !(SigmoidTau > 0))
            throw new ArgumentException($"Sigmoid schedule needs SigmoidStart < SigmoidEnd and SigmoidTau > 0, got {SigmoidStart}, {SigmoidEnd}, {SigmoidTau}.", nameof(SigmoidTau));
    }
}
