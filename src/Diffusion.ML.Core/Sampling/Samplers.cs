namespace Diffusion.ML.Sampling;

/// <summary>Creates samplers by the names the CLI and configuration files use.</summary>
public static class Samplers
{
    /// <summary>The names <see cref="Create"/> accepts.</summary>
    public static IReadOnlyList<string> Names { get; } = ["ddpm", "ddpm-large", "ddim"];

    /// <summary>Creates a sampler by name: "ddpm" (fixed-small variance), "ddpm-large" (fixed-large variance) or "ddim".</summary>
    /// <param name="name">Sampler name, case-insensitive.</param>
    /// <param name="eta">DDIM's eta (ignored by the others).</param>
    public static ISampler Create(string name, double eta = 0) => name.ToLowerInvariant() switch
    {
        "ddpm" => new DdpmSampler(DdpmVarianceType.FixedSmall),
        "ddpm-large" => new DdpmSampler(DdpmVarianceType.FixedLarge),
        "ddim" => new DdimSampler(eta),
        _ => throw new ArgumentException($"Unknown sampler '{name}'. Known samplers: {string.Join(", ", Names)}.", nameof(name)),
    };
}
