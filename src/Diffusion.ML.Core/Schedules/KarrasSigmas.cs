namespace Diffusion.ML.Schedules;

/// <summary>
/// Noise levels in the variance-exploding (VE) view of a VP schedule (Karras et al. 2022, "Elucidating the Design Space of
/// Diffusion-Based Generative Models"): x_ve = x_vp / sqrt(abar) has noise level sigma with sigma^2 = (1 - abar) / abar, and
/// the step-size schedule of their eq. 5.
/// </summary>
public static class KarrasSigmas
{
    /// <summary>The paper's rho = 7 (Karras et al. 2022, sec. 3), also diffusers' fixed value.</summary>
    public const double DefaultRho = 7.0;

    /// <summary>sigma = sqrt((1 - abar) / abar), the VE noise level of alpha-bar (Karras et al. 2022, Table 1, VP).</summary>
    public static double FromAlphaBar(double alphaBar) => Math.Sqrt((1 - alphaBar) / alphaBar);

    /// <summary>
    /// The <paramref name="steps"/> + 1 noise levels
    /// sigma_i = (sigma_max^(1/rho) + i / (N-1) (sigma_min^(1/rho) - sigma_max^(1/rho)))^rho for i &lt; N and sigma_N = 0
    /// (Karras et al. 2022, eq. 5), N = <paramref name="steps"/>. The endpoints are returned exactly (sigma_0 = sigma_max,
    /// sigma_(N-1) = sigma_min); with N = 1 the only level is sigma_max (diffusers' <c>linspace(0, 1, 1)</c> convention).
    /// </summary>
    /// <param name="steps">N &gt;= 1.</param>
    /// <param name="sigmaMin">sigma_min &gt; 0.</param>
    /// <param name="sigmaMax">sigma_max &gt;= sigma_min.</param>
    /// <param name="rho">rho &gt; 0. Default 7.</param>
    public static double[] Create(int steps, double sigmaMin, double sigmaMax, double rho = DefaultRho)
    {
        if (steps < 1) throw new ArgumentOutOfRangeException(nameof(steps), steps, "At least one step is needed.");
        if (!(sigmaMin > 0) || !(sigmaMax >= sigmaMin) || double.IsInfinity(sigmaMax))
            throw new ArgumentException($"Need 0 < sigma_min <= sigma_max < infinity; got sigma_min = {sigmaMin}, sigma_max = {sigmaMax}.");
        if (!(rho > 0) || double.IsInfinity(rho)) throw new ArgumentOutOfRangeException(nameof(rho), rho, "rho must be positive and finite.");
        var sigmas = new double[steps + 1];
        double maxRoot = Math.Pow(sigmaMax, 1 / rho), minRoot = Math.Pow(sigmaMin, 1 / rho);
        for (int i = 0; i < steps; i++)
        {
            if (i == 0) sigmas[i] = sigmaMax;
            else if (i == steps - 1) sigmas[i] = sigmaMin;
            else sigmas[i] = Math.Pow(maxRoot + (double)i / (steps - 1) * (minRoot - maxRoot), rho);
        }
        sigmas[steps] = 0;
        return sigmas;
    }
}
