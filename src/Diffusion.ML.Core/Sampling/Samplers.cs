namespace Diffusion.ML.Sampling;

/// <summary>Creates samplers by the names the CLI and configuration files use.</summary>
public static class Samplers
{
    /// <summary>The names <see cref="Create"/> accepts.</summary>
    public static IReadOnlyList<string> Names { get; } = ["ddpm", "ddpm-large", "ddim", "dpm-solver++-2m", "dpm-solver++-3m", "sde-dpm-solver++-2m", "unipc", "euler", "heun", "euler-ancestral", "plms", "pndm"];

    /// <summary>
    /// Creates a sampler by name: "ddpm" (fixed-small variance), "ddpm-large" (fixed-large variance), "ddim",
    /// "dpm-solver++-2m", "dpm-solver++-3m", "sde-dpm-solver++-2m" or "unipc" (UniPC-2 with B(h) = e^h - 1), each with
    /// its documented defaults; "euler", "heun", "euler-ancestral" (Karras et al. 2022, on Karras sigmas), "plms" or "pndm"
    /// (Liu et al. 2022), also with their defaults.
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
        _ => throw new ArgumentException($"Unknown sampler '{name}'. Known samplers: {string.Join(", ", Names)}.", nameof(name)),
    };
}
