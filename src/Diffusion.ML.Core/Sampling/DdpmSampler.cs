using Diffusion.ML.Schedules;

namespace Diffusion.ML.Sampling;

/// <summary>
/// Ancestral DDPM sampling (Ho et al. 2020, Alg. 2): x_s ~ N(mu~(x_t, x_0), sigma^2 I) with the posterior mean of
/// q(x_s | x_t, x_0); on a sub-sequence of timesteps the step's beta is 1 - alpha-bar_t / alpha-bar_s, as in diffusers.
/// </summary>
public sealed class DdpmSampler : SingleStepSampler
{
    /// <summary>Creates the sampler.</summary>
    /// <param name="varianceType">Reverse variance choice. Default <see cref="DdpmVarianceType.FixedSmall"/>.</param>
    public DdpmSampler(DdpmVarianceType varianceType = DdpmVarianceType.FixedSmall) => VarianceType = varianceType;

    /// <summary>The reverse variance used.</summary>
    public DdpmVarianceType VarianceType { get; }

    /// <inheritdoc />
    public override string Name => "ddpm";

    /// <inheritdoc />
    public override bool UsesNoise(int t, int s) => s >= 0;

    /// <inheritdoc />
    public override void Step(NoiseSchedule schedule, int t, int s, ReadOnlySpan<float> xt, ReadOnlySpan<float> x0, ReadOnlySpan<float> eps,
        ReadOnlySpan<float> noise, Span<float> xs)
    {
        PosteriorCoefficients p = schedule.Posterior(t, s);
        double sigma = s < 0 ? 0 : Math.Sqrt(VarianceType == DdpmVarianceType.FixedSmall ? p.Variance : p.Beta);
        for (int i = 0; i < xt.Length; i++)
        {
            // mu~_t(x_t, x_0) = coef1 x_0 + coef2 x_t   (Ho et al. 2020, eq. 7)
            double mean = p.X0 * x0[i] + p.Xt * xt[i];
            xs[i] = (float)(sigma == 0 ? mean : mean + sigma * noise[i]);
        }
    }
}
