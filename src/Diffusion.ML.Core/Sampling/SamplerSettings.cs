namespace Diffusion.ML.Sampling;

/// <summary>
/// Options of the samplers that <see cref="Samplers.Create(string, SamplerSettings?)"/> builds by name. Null means the
/// sampler's documented default. Setting an option the named sampler does not have is an error, so a typo in a
/// configuration never goes unnoticed.
/// </summary>
public sealed record SamplerSettings
{
    /// <summary>DDIM's eta (default 0), or Euler-ancestral's scale of sigma_up (default 1).</summary>
    public double? Eta { get; init; }

    /// <summary>UniPC's order (1-3, default 2).</summary>
    public int? Order { get; init; }

    /// <summary>DPM-Solver++ and UniPC: lower the order at the last steps (default true).</summary>
    public bool? LowerOrderFinal { get; init; }

    /// <summary>Euler, Heun, Euler-ancestral: Karras sigmas (default true) instead of the listed timesteps' sigmas.</summary>
    public bool? UseKarrasSigmas { get; init; }

    /// <summary>Euler, Heun, Euler-ancestral: rho of the Karras schedule (default 7).</summary>
    public double? Rho { get; init; }

    /// <summary>Euler, Heun: S_churn (default 0).</summary>
    public double? SChurn { get; init; }

    /// <summary>Euler, Heun: S_tmin (default 0).</summary>
    public double? STmin { get; init; }

    /// <summary>Euler, Heun: S_tmax (default +infinity).</summary>
    public double? STmax { get; init; }

    /// <summary>Euler, Heun, Euler-ancestral: S_noise (default 1).</summary>
    public double? SNoise { get; init; }

    /// <summary>Predictor-corrector: the corrector's signal-to-noise ratio r (default 0.16).</summary>
    public double? Snr { get; init; }

    /// <summary>Predictor-corrector: Langevin corrector steps per step (default 1).</summary>
    public int? CorrectorSteps { get; init; }

    /// <summary>Probability-flow ODE: relative tolerance of RK45 (default 1e-5).</summary>
    public double? RelativeTolerance { get; init; }

    /// <summary>Probability-flow ODE: absolute tolerance of RK45 (default 1e-5).</summary>
    public double? AbsoluteTolerance { get; init; }
}
