namespace Diffusion.ML.Schedules;

/// <summary>How the forward-process variances beta_1..beta_T are laid out (diffusers' <c>beta_schedule</c>).</summary>
public enum BetaSchedule
{
    /// <summary>beta_t linear from <see cref="NoiseScheduleOptions.BetaStart"/> to <see cref="NoiseScheduleOptions.BetaEnd"/> (Ho et al. 2020, sec. 4).</summary>
    Linear,

    /// <summary>sqrt(beta_t) linear between the square roots of the end points, then squared (Rombach et al. 2022, latent diffusion).</summary>
    ScaledLinear,

    /// <summary>alpha-bar(t) = cos^2(((t/T + s)/(1 + s)) pi/2), s = 0.008, betas clipped at 0.999 (Nichol and Dhariwal 2021, eq. 17).</summary>
    Cosine,

    /// <summary>alpha-bar(t) from a shifted sigmoid over [start, end] / tau (Jabri et al. 2022; Chen 2023, "On the importance of noise scheduling", Alg. 1).</summary>
    Sigmoid,
}
