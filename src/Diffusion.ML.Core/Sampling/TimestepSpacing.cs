namespace Diffusion.ML.Sampling;

/// <summary>How a sampler picks its inference timesteps from the T training timesteps (Lin et al. 2024, Table 2; diffusers' <c>timestep_spacing</c>).</summary>
public enum TimestepSpacing
{
    /// <summary>round(linspace(0, T-1, n)), reversed.</summary>
    Linspace,

    /// <summary>k * (T / n) for k = 0..n-1 plus the steps offset, reversed (DDIM's original choice; never reaches T-1).</summary>
    Leading,

    /// <summary>round(T - k * T / n) - 1 for k = 0..n-1: starts at T-1, as Lin et al. 2024 recommend.</summary>
    Trailing,
}
