namespace Diffusion.ML.Langevin;

/// <summary>How annealed Langevin dynamics draws its starting points x_0.</summary>
public enum LangevinInitialization
{
    /// <summary>x_0 ~ N(0, c^2 I) with c = <see cref="AnnealedLangevinOptions.InitialScale"/> (default sigma_1), the prior of the
    /// variance-exploding SDE (Song et al. 2021), close to the data noised at sigma_1 when sigma_1 dominates the data's spread.</summary>
    Gaussian,

    /// <summary>x_0 ~ U[-c, c]^D with c = <see cref="AnnealedLangevinOptions.InitialScale"/> (default sigma_1); Song and Ermon 2019
    /// start from uniform noise (their toy experiments from U[-8, 8]^2).</summary>
    Uniform,
}

/// <summary>What annealed Langevin dynamics generates and how; every default is documented on its property.</summary>
public sealed record AnnealedLangevinOptions
{
    /// <summary>Number of samples. Default 16.</summary>
    public int Count { get; init; } = 16;

    /// <summary>Seed. Sample i depends only on (Seed, FirstIndex + i), never on the batch size. Default 0.</summary>
    public long Seed { get; init; }

    /// <summary>Index of the first sample, so a large job can be split into shards that reproduce the whole. Default 0.</summary>
    public long FirstIndex { get; init; }

    /// <summary>Samples evaluated together by the score model. Default 64.</summary>
    public int BatchSize { get; init; } = 64;

    /// <summary>T, the Langevin steps at each noise level (Song and Ermon 2019 use 100). Default 100.</summary>
    public int StepsPerLevel { get; init; } = 100;

    /// <summary>
    /// epsilon, the base step size: level i steps with alpha_i = epsilon sigma_i^2 / sigma_L^2 (Alg. 1). Song and Ermon 2019 use
    /// 2e-5 with sigma_L = 0.01 on images; keep epsilon / sigma_L^2 well below 1 (the step then moves a fraction of the noise
    /// level). Default 2e-5.
    /// </summary>
    public double StepSize { get; init; } = 2e-5;

    /// <summary>How the starting points are drawn. Default <see cref="LangevinInitialization.Gaussian"/>.</summary>
    public LangevinInitialization Initialization { get; init; } = LangevinInitialization.Gaussian;

    /// <summary>Scale c of the starting distribution (see <see cref="LangevinInitialization"/>); null means sigma_1. Default null.</summary>
    public double? InitialScale { get; init; }

    /// <summary>
    /// Ends with one noise-free denoising step x &lt;- x + sigma_L^2 s(x, sigma_L), Tweedie's estimate of E[x_data | x]: the
    /// final denoising of Song and Ermon 2020 (NCSNv2), after Jolicoeur-Martineau et al. 2021. It removes the residual
    /// sigma_L noise that Alg. 1 leaves in its samples. Costs one more model evaluation. Default false (Alg. 1 as published).
    /// </summary>
    public bool FinalDenoising { get; init; }

    /// <summary>Checks the options and says what is wrong.</summary>
    /// <exception cref="ArgumentException">An option is out of range.</exception>
    public void Validate()
    {
        if (Count < 0) throw new ArgumentException($"Count must be >= 0, got {Count}.", nameof(Count));
        if (BatchSize < 1) throw new ArgumentException($"BatchSize must be >= 1, got {BatchSize}.", nameof(BatchSize));
        if (FirstIndex < 0) throw new ArgumentException($"FirstIndex must be >= 0, got {FirstIndex}.", nameof(FirstIndex));
        if (StepsPerLevel < 1) throw new ArgumentException($"StepsPerLevel must be >= 1, got {StepsPerLevel}.", nameof(StepsPerLevel));
        if (!(StepSize > 0) || !double.IsFinite(StepSize)) throw new ArgumentException($"StepSize must be positive and finite, got {StepSize}.", nameof(StepSize));
        if (!Enum.IsDefined(Initialization)) throw new ArgumentException($"Unknown initialization {Initialization}.", nameof(Initialization));
        if (InitialScale is { } c && (!(c > 0) || !double.IsFinite(c)))
            throw new ArgumentException($"InitialScale must be positive and finite, got {c}.", nameof(InitialScale));
    }
}
