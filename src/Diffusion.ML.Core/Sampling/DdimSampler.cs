using Diffusion.ML.Schedules;

namespace Diffusion.ML.Sampling;

/// <summary>
/// DDIM (Song, Meng and Ermon 2021, eq. 12): x_s = sqrt(abar_s) x_0 + sqrt(1 - abar_s - sigma^2) eps + sigma z with
/// sigma = eta sqrt((1 - abar_s) / (1 - abar_t)) sqrt(1 - abar_t / abar_s) (eq. 16). eta = 0 is deterministic; eta = 1
/// matches DDPM's fixed-small variance.
/// </summary>
public sealed class DdimSampler : SingleStepSampler
{
    /// <summary>Creates the sampler.</summary>
    /// <param name="eta">Noise level eta &gt;= 0. Default 0.</param>
    public DdimSampler(double eta = 0)
    {
        if (!(eta >= 0)) throw new ArgumentOutOfRangeException(nameof(eta), eta, "eta must be >= 0.");
        Eta = eta;
    }

    /// <summary>The noise level eta.</summary>
    public double Eta { get; }

    /// <inheritdoc />
    public override string Name => "ddim";

    /// <inheritdoc />
    public override bool UsesNoise(int t, int s) => Eta > 0 && s >= 0;

    /// <inheritdoc />
    public override void Step(NoiseSchedule schedule, int t, int s, ReadOnlySpan<float> xt, ReadOnlySpan<float> x0, ReadOnlySpan<float> eps,
        ReadOnlySpan<float> noise, Span<float> xs)
    {
        double abarT = schedule.AlphaBarAt(t), abarS = schedule.AlphaBarAt(s);
        double sigma = Eta * Math.Sqrt((1 - abarS) / (1 - abarT) * (1 - abarT / abarS));
        double dirCoef = Math.Sqrt(Math.Max(1 - abarS - sigma * sigma, 0));
        double sqrtAbarS = Math.Sqrt(abarS);
        bool addNoise = UsesNoise(t, s);
        for (int i = 0; i < xt.Length; i++)
        {
            double v = sqrtAbarS * x0[i] + dirCoef * eps[i];
            xs[i] = (float)(addNoise ? v + sigma * noise[i] : v);
        }
    }
}
