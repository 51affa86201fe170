namespace Diffusion.ML.Sampling;

/// <summary>The reverse-process variance of an ancestral DDPM step (Ho et al. 2020, sec. 3.2).</summary>
public enum DdpmVarianceType
{
    /// <summary>sigma^2 = beta-tilde, the posterior variance: optimal for deterministic x_0.</summary>
    FixedSmall,

    /// <summary>sigma^2 = beta: optimal for x_0 ~ N(0, I).</summary>
    FixedLarge,

    /// <summary>
    /// Learned by the model (Nichol and Dhariwal 2021, eq. 15): sigma^2 = exp(f log beta + (1 - f) log beta-tilde) with
    /// f = (v + 1) / 2 from the model's variance values v (<see cref="IDenoiser.LearnsVariance"/>).
    /// </summary>
    Learned,
}
