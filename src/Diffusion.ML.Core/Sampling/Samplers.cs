namespace Diffusion.ML.Sampling;

/// <summary>Creates samplers by the names the CLI and configuration files use.</summary>
public static class Samplers
{
    /// <summary>The names <see cref="Create"/> accepts.</summary>
    public static IReadOnlyList<string> Names { get; } = ["ddpm", "ddpm-large", "ddim", "dpm-solver++-2m", "dpm-solver++-3m", "sde-dpm-solver++-2m", "unipc", "euler", "heun", "euler-ancestral", "plms", "pndm", "sde-euler-maruyama", "sde-pc", "pf-ode-rk45"];

    /// <summary>
    /// Creates a sampler by name: "ddpm" (fixed-small variance), "ddpm-large" (fixed-large variance), "ddim",
    /// "dpm-solver++-2m", "dpm-solver++-3m", "sde-dpm-solver++-2m" or "unipc" (UniPC-2 with B(h) = e^h - 1), each with
    /// its documented defaults; "euler", "heun", "euler-ancestral" (Karras et al. 2022, on Karras sigmas), "plms" or "pndm"
    /// (Liu et al. 2022), also with their defaults; "sde-euler-maruyama", "sde-pc" (reverse-diffusion predictor, Langevin
    /// corrector) or "pf-ode-rk45" (probability-flow ODE, adaptive RK45) (Song et al. 2021, score SDEs, on the schedule's own
    /// VP SDE).
    /// </summary>
    /// <param name="name">Sampler name, case-insensitive.</param>
    /// <param name="eta">DDIM's eta (ignored by the others).</param>
    public static ISampler Create(string name, double eta = 0) => name.ToLowerInvariant() switch
    {
        "ddpm" => new DdpmSampler(DdpmVarianceType.FixedSmall),
        "ddpm-large" => new DdpmSampler(DdpmVarianceType.FixedLarge),
        "ddim" => new DdimSampler(eta),
        "dpm-solver++-2m" => new DpmSolverPlusPlusSampler(order: 2),
        "dpm-solver++-3m" => new DpmSolverPlusPlusSampler(order: 3),
        "sde-dpm-solver++-2m" => new SdeDpmSolverPlusPlusSampler(order: 2),
        "unipc" => new UniPcSampler(),
        "euler" => new EulerSampler(),
        "heun" => new HeunSampler(),
        "euler-ancestral" => new EulerAncestralSampler(),
        "plms" => new PlmsSampler(),
        "pndm" => new PndmSampler(),
        "sde-euler-maruyama" => new ScoreSde.EulerMaruyamaSdeSampler(),
        "sde-pc" => new ScoreSde.PredictorCorrectorSampler(),
        "pf-ode-rk45" => new ScoreSde.ProbabilityFlowOdeSampler(),
        _ => throw new ArgumentException($"Unknown sampler '{name}'. Known samplers: {string.Join(", ", Names)}.", nameof(name)),
    };
}
