namespace Diffusion.ML.Sampling;

/// <summary>
/// Euler's method on the probability-flow ODE in the VE view (Karras et al. 2022, Alg. 2 without the second-order correction;
/// diffusers' <c>EulerDiscreteScheduler</c>): x_(i+1) = x_i + (sigma_(i+1) - sigma_i) (x_i - D(x_i; sigma_i)) / sigma_i.
/// One model evaluation per step; deterministic unless <see cref="ChurnKarrasSampler.SChurn"/> &gt; 0. Noise levels, timesteps and the initial
/// scaling are described on <see cref="KarrasSampler"/>.
/// </summary>
public sealed class EulerSampler : ChurnKarrasSampler
{
    /// <summary>Creates the sampler.</summary>
    /// <param name="useKarrasSigmas">Noise levels of Karras et al. 2022, eq. 5 (true) or the sigmas of the listed timesteps (false). Default true.</param>
    /// <param name="rho">rho of eq. 5. Default 7.</param>
    /// <param name="sigmaMin">sigma_min of eq. 5; null (default) takes the sigma of the last listed timestep.</param>
    /// <param name="sigmaMax">sigma_max of eq. 5; null (default) takes the sigma of the first listed timestep.</param>
    /// <param name="sChurn">S_churn of Alg. 2 (stochasticity; diffusers' <c>s_churn</c>). Default 0 (deterministic).</param>
    /// <param name="sTmin">S_tmin: churn only where sigma_i &gt;= S_tmin. Default 0.</param>
    /// <param name="sTmax">S_tmax: churn only where sigma_i &lt;= S_tmax. Default +infinity.</param>
    /// <param name="sNoise">S_noise: standard deviation of the churn noise. Default 1.</param>
    public EulerSampler(bool useKarrasSigmas = true, double rho = Schedules.KarrasSigmas.DefaultRho, double? sigmaMin = null, double? sigmaMax = null,
        double sChurn = 0, double sTmin = 0, double sTmax = double.PositiveInfinity, double sNoise = 1)
        : base(secondOrder: false, useKarrasSigmas, rho, sigmaMin, sigmaMax, sChurn, sTmin, sTmax, sNoise)
    {
    }

    /// <inheritdoc />
    public override string Name => "euler";

    /// <inheritdoc />
    public override int ModelEvaluations(int timestepCount) => timestepCount;
}
