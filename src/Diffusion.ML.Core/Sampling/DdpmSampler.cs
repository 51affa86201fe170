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
    public override string Name => VarianceType switch
    {
        DdpmVarianceType.FixedLarge => "ddpm-large",
        DdpmVarianceType.Learned => "ddpm-learned",
        _ => "ddpm",
    };

    /// <inheritdoc />
    public override bool UsesNoise(int t, int s) => s >= 0;

    /// <inheritdoc />
    /// <exception cref="InvalidOperationException">The variance is learned: use StepWithVariance with the model's variance values.</exception>
    public override void Step(NoiseSchedule schedule, int t, int s, ReadOnlySpan<float> xt, ReadOnlySpan<float> x0, ReadOnlySpan<float> eps,
        ReadOnlySpan<float> noise, Span<float> xs)
    {
        if (VarianceType == DdpmVarianceType.Learned)
            throw new InvalidOperationException("A DDPM step with learned variance needs the model's variance values; call StepWithVariance.");
        StepWithVariance(schedule, t, s, xt, x0, noise, ReadOnlySpan<float>.Empty, xs);
    }

    /// <summary>A step with the model's variance values v in [-1, 1] (the batch length), for <see cref="DdpmVarianceType.Learned"/>.</summary>
    /// <param name="schedule">The training noise schedule.</param>
    /// <param name="t">Current timestep.</param>
    /// <param name="s">Target timestep, below t; -1 for the last step.</param>
    /// <param name="xt">Current samples.</param>
    /// <param name="x0">x_0 estimates.</param>
    /// <param name="noise">Fresh N(0, I) noise when s &gt;= 0, else empty.</param>
    /// <param name="varianceValues">The model's v per element (ignored for the fixed variances).</param>
    /// <param name="xs">Receives the new samples.</param>
    public void StepWithVariance(NoiseSchedule schedule, int t, int s, ReadOnlySpan<float> xt, ReadOnlySpan<float> x0, ReadOnlySpan<float> noise,
        ReadOnlySpan<float> varianceValues, Span<float> xs)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        PosteriorCoefficients p = schedule.Posterior(t, s);
        bool learned = VarianceType == DdpmVarianceType.Learned && s >= 0;
        if (learned && varianceValues.Length != xt.Length)
            throw new ArgumentException($"Learned variance needs one variance value per element ({xt.Length}); got {varianceValues.Length}.", nameof(varianceValues));
        double sigma = s < 0 ? 0 : Math.Sqrt(VarianceType == DdpmVarianceType.FixedLarge ? p.Beta : p.Variance);
        double logBeta = Math.Log(p.Beta), logBetaTilde = s < 0 ? 0 : Math.Log(p.Variance);
        for (int i = 0; i < xt.Length; i++)
        {
            // mu~_t(x_t, x_0) = coef1 x_0 + coef2 x_t   (Ho et al. 2020, eq. 7)
            double mean = p.X0 * x0[i] + p.Xt * xt[i];
            if (learned)
            {
                // log sigma^2 = f log beta + (1 - f) log beta~, f = (v + 1) / 2   (Nichol and Dhariwal 2021, eq. 15)
                double f = (varianceValues[i] + 1) / 2;
                sigma = Math.Exp(0.5 * (f * logBeta + (1 - f) * logBetaTilde));
            }
            xs[i] = (float)(sigma == 0 ? mean : mean + sigma * noise[i]);
        }
    }

    /// <inheritdoc />
    protected internal override void Step(SamplingContext context, int t, int s, ReadOnlySpan<float> xt, ReadOnlySpan<float> x0,
        ReadOnlySpan<float> eps, ReadOnlySpan<float> noise, Span<float> xs)
    {
        if (VarianceType == DdpmVarianceType.Learned && !context.HasVarianceValues)
            throw new ArgumentException("The sampler ddpm-learned needs a model that learns its variance (a network trained with learned sigma); " +
                "this model outputs none. Use ddpm or ddpm-large.");
        StepWithVariance(context.Schedule, t, s, xt, x0, noise, context.VarianceValues, xs);
    }
}
