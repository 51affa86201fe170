namespace Diffusion.ML.Sampling;

/// <summary>
/// Heun's second-order method on the probability-flow ODE in the VE view (Karras et al. 2022, Alg. 2; diffusers'
/// <c>HeunDiscreteScheduler</c>, which has no churn): an Euler step to sigma_(i+1), then the trapezoidal correction
/// x_(i+1) = x_hat + (sigma_(i+1) - sigma_hat) (d_i + d'_i) / 2, except on the last step to sigma_N = 0, which stays an Euler
/// step. Optional churn (S_churn, S_tmin, S_tmax, S_noise) first raises sigma_i to sigma_hat = (1 + gamma_i) sigma_i by adding
/// noise drawn with <see cref="SamplingContext.DrawNoise"/>; sigma_hat is capped at the schedule's sigma(T-1), above which the
/// model was never trained. 2N - 1 model evaluations for N timesteps. Noise levels, timesteps and the initial scaling are
/// described on <see cref="KarrasSampler"/>.
/// </summary>
public sealed class HeunSampler : ChurnKarrasSampler
{
    /// <summary>Creates the sampler.</summary>
    /// <param name="useKarrasSigmas">Noise levels of Karras et al. 2022, eq. 5 (true) or the sigmas of the listed timesteps (false). Default true.</param>
    /// <param name="rho">rho of eq. 5. Default 7.</param>
    /// <param name="sigmaMin">sigma_min of eq. 5; null (default) takes the sigma of the last listed timestep.</param>
    /// <param name="sigmaMax">sigma_max of eq. 5; null (default) takes the sigma of the first listed timestep.</param>
    /// <param name="sChurn">S_churn of Alg. 2: gamma_i = min(S_churn / N, sqrt(2) - 1). Default 0 (deterministic).</param>
    /// <param name="sTmin">S_tmin: churn only where sigma_i &gt;= S_tmin. Default 0.</param>
    /// <param name="sTmax">S_tmax: churn only where sigma_i &lt;= S_tmax. Default +infinity.</param>
    /// <param name="sNoise">S_noise: standard deviation of the churn noise (the paper uses 1.003 to 1.007 on images). Default 1.</param>
    public HeunSampler(bool useKarrasSigmas = true, double rho = Schedules.KarrasSigmas.DefaultRho, double? sigmaMin = null, double? sigmaMax = null,
        double sChurn = 0, double sTmin = 0, double sTmax = double.PositiveInfinity, double sNoise = 1)
        : base(secondOrder: true, useKarrasSigmas, rho, sigmaMin, sigmaMax, sChurn, sTmin, sTmax, sNoise)
    {
    }

    /// <inheritdoc />
    public override string Name => "heun";

    /// <inheritdoc />
    public override int ModelEvaluations(int timestepCount) => timestepCount <= 0 ? 0 : 2 * timestepCount - 1;
}
