namespace Diffusion.ML.Sampling;

/// <summary>Creates samplers by the names the CLI and configuration files use.</summary>
public static class Samplers
{
    /// <summary>The names <see cref="Create(string, SamplerSettings?)"/> accepts.</summary>
    public static IReadOnlyList<string> Names { get; } = ["ddpm", "ddpm-large", "ddpm-learned", "ddim", "dpm-solver++-2m", "dpm-solver++-3m", "sde-dpm-solver++-2m", "unipc", "euler", "heun", "euler-ancestral", "plms", "pndm", "sde-euler-maruyama", "sde-pc", "pf-ode-rk45"];

    /// <summary>
    /// Creates a sampler by name: "ddpm" (fixed-small variance), "ddpm-large" (fixed-large variance), "ddpm-learned" (the
    /// model's learned variance, Nichol and Dhariwal 2021), "ddim",
    /// "dpm-solver++-2m", "dpm-solver++-3m", "sde-dpm-solver++-2m" or "unipc" (UniPC-2 with B(h) = e^h - 1), each with
    /// its documented defaults; "euler", "heun", "euler-ancestral" (Karras et al. 2022, on Karras sigmas), "plms" or "pndm"
    /// (Liu et al. 2022), also with their defaults; "sde-euler-maruyama", "sde-pc" (reverse-diffusion predictor, Langevin
    /// corrector) or "pf-ode-rk45" (probability-flow ODE, adaptive RK45) (Song et al. 2021, score SDEs, on the schedule's own
    /// VP SDE).
    /// </summary>
    /// <param name="name">Sampler name, case-insensitive.</param>
    /// <param name="eta">DDIM's eta (ignored by the others).</param>
    public static ISampler Create(string name, double eta) =>
        Create(name, name.Equals("ddim", StringComparison.OrdinalIgnoreCase) ? new SamplerSettings { Eta = eta } : null);

    /// <summary>Creates a sampler by name (see <see cref="Names"/>) with the given options; null options take the defaults.</summary>
    /// <param name="name">Sampler name, case-insensitive.</param>
    /// <param name="settings">Options; each must be one the named sampler has.</param>
    /// <exception cref="ArgumentException">An unknown name, or an option the sampler does not have.</exception>
    public static ISampler Create(string name, SamplerSettings? settings = null)
    {
        ArgumentNullException.ThrowIfNull(name);
        var s = settings ?? new SamplerSettings();
        string key = name.ToLowerInvariant();
        string[] allowed = key switch
        {
            "ddim" => [nameof(s.Eta)],
            "dpm-solver++-2m" or "dpm-solver++-3m" => [nameof(s.LowerOrderFinal)],
            "unipc" => [nameof(s.Order), nameof(s.LowerOrderFinal)],
            "euler" or "heun" => [nameof(s.UseKarrasSigmas), nameof(s.Rho), nameof(s.SChurn), nameof(s.STmin), nameof(s.STmax), nameof(s.SNoise)],
            "euler-ancestral" => [nameof(s.UseKarrasSigmas), nameof(s.Rho), nameof(s.Eta), nameof(s.SNoise)],
            "sde-pc" => [nameof(s.Snr), nameof(s.CorrectorSteps)],
            "pf-ode-rk45" => [nameof(s.RelativeTolerance), nameof(s.AbsoluteTolerance)],
            _ => [],
        };
        string[] given = typeof(SamplerSettings).GetProperties().Where(p => p.GetValue(s) is not null).Select(p => p.Name).ToArray();
        if (given.Except(allowed).FirstOrDefault() is { } unused && Names.Contains(key))
            throw new ArgumentException(
                $"The sampler '{key}' has no option {unused}; its options are: {(allowed.Length == 0 ? "none" : string.Join(", ", allowed))}.", nameof(settings));
        bool karras = s.UseKarrasSigmas ?? true;
        double rho = s.Rho ?? Schedules.KarrasSigmas.DefaultRho;
        return key switch
        {
            "ddpm" => new DdpmSampler(DdpmVarianceType.FixedSmall),
            "ddpm-large" => new DdpmSampler(DdpmVarianceType.FixedLarge),
            "ddpm-learned" => new DdpmSampler(DdpmVarianceType.Learned),
            "ddim" => new DdimSampler(s.Eta ?? 0),
            "dpm-solver++-2m" => new DpmSolverPlusPlusSampler(order: 2, lowerOrderFinal: s.LowerOrderFinal ?? true),
            "dpm-solver++-3m" => new DpmSolverPlusPlusSampler(order: 3, lowerOrderFinal: s.LowerOrderFinal ?? true),
            "sde-dpm-solver++-2m" => new SdeDpmSolverPlusPlusSampler(order: 2),
            "unipc" => new UniPcSampler(order: s.Order ?? 2, lowerOrderFinal: s.LowerOrderFinal ?? true),
            "euler" => new EulerSampler(karras, rho, sChurn: s.SChurn ?? 0, sTmin: s.STmin ?? 0, sTmax: s.STmax ?? double.PositiveInfinity, sNoise: s.SNoise ?? 1),
            "heun" => new HeunSampler(karras, rho, sChurn: s.SChurn ?? 0, sTmin: s.STmin ?? 0, sTmax: s.STmax ?? double.PositiveInfinity, sNoise: s.SNoise ?? 1),
            "euler-ancestral" => new EulerAncestralSampler(karras, rho, eta: s.Eta ?? 1, sNoise: s.SNoise ?? 1),
            "plms" => new PlmsSampler(),
            "pndm" => new PndmSampler(),
            "sde-euler-maruyama" => new ScoreSde.EulerMaruyamaSdeSampler(),
            "sde-pc" => new ScoreSde.PredictorCorrectorSampler(correctorSteps: s.CorrectorSteps ?? 1, snr: s.Snr ?? 0.16),
            "pf-ode-rk45" => new ScoreSde.ProbabilityFlowOdeSampler(rtol: s.RelativeTolerance ?? 1e-5, atol: s.AbsoluteTolerance ?? 1e-5),
            _ => throw new ArgumentException($"Unknown sampler '{name}'. Known samplers: {string.Join(", ", Names)}.", nameof(name)),
        };
    }
}
