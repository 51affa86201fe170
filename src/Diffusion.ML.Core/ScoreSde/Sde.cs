using Diffusion.ML.Schedules;

namespace Diffusion.ML.ScoreSde;

/// <summary>
/// A forward diffusion dx = f(t) x dt + g(t) dw on t in [0, 1] with an affine drift, as all the SDEs of Song et al. 2021
/// ("Score-Based Generative Modeling through Stochastic Differential Equations", eq. 5) are. Its perturbation kernel is
/// p_0t(x(t) | x(0)) = N(m(t) x(0), std(t)^2 I) with m = <see cref="MeanCoefficient"/> and std = <see cref="MarginalStd"/>
/// (appendix B, eq. 29-33).
/// <para>
/// Mapping to a discrete-time model: x(t) = m x_0 + std z, divided by sqrt(m^2 + std^2), is a DDPM input
/// sqrt(abar) x_0 + sqrt(1 - abar) z with abar = m^2 / (m^2 + std^2) (<see cref="ModelAlphaBar"/>). So a model trained on a
/// <see cref="NoiseSchedule"/> is evaluated on x(t) / sqrt(m^2 + std^2) (<see cref="ModelInputScale"/>) at the fractional
/// timestep of that alpha-bar, <see cref="NoiseSchedule.TimestepOfSigma"/> of sigma = std / m (<see cref="ModelTimestep"/>),
/// and its eps estimate gives the score grad log p_t(x) = -eps / std(t). The model must have been trained over the noise
/// levels the SDE visits: sigma(t) = std / m may not exceed the schedule's sigma(T-1).
/// </para>
/// </summary>
public abstract class Sde
{
    /// <summary>A short name ("vp", "sub-vp", "ve", "schedule-vp").</summary>
    public abstract string Name { get; }

    /// <summary>f(t), the drift coefficient: the drift is f(x, t) = f(t) x.</summary>
    public abstract double DriftCoefficient(double t);

    /// <summary>g(t), the diffusion coefficient.</summary>
    public abstract double Diffusion(double t);

    /// <summary>m(t), the mean coefficient of the perturbation kernel: E[x(t) | x(0)] = m(t) x(0).</summary>
    public abstract double MeanCoefficient(double t);

    /// <summary>std(t), the standard deviation of the perturbation kernel p_0t(x(t) | x(0)).</summary>
    public abstract double MarginalStd(double t);

    /// <summary>Standard deviation of the prior p_T = N(0, PriorStd^2 I) that sampling starts from and the likelihood ends at.</summary>
    public abstract double PriorStd { get; }

    /// <summary>
    /// The smallest time the probability-flow ODE integrates to, and where the likelihood is computed (the ODE and the score
    /// are singular at std = 0): 1e-3 for VP and sub-VP, 1e-5 for VE (Song et al. 2021, appendix C/D), 1/T for
    /// <see cref="ScheduleVpSde"/> (its first training timestep).
    /// </summary>
    public abstract double DefaultEps { get; }

    /// <summary>log N(x; 0, PriorStd^2 I) of one sample, in nats.</summary>
    public double PriorLogDensity(ReadOnlySpan<double> x)
    {
        double variance = PriorStd * PriorStd, squares = 0;
        foreach (double v in x) squares += v * v;
        return -0.5 * x.Length * Math.Log(2 * Math.PI * variance) - 0.5 * squares / variance;
    }

    /// <summary>alpha-bar of the discrete-time model input at time t: m^2 / (m^2 + std^2).</summary>
    public double ModelAlphaBar(double t)
    {
        double m = MeanCoefficient(t), s = MarginalStd(t);
        return m * m / (m * m + s * s);
    }

    /// <summary>1 / sqrt(m^2 + std^2): the factor that turns x(t) into the variance-preserving input of a DDPM model.</summary>
    public virtual double ModelInputScale(double t)
    {
        double m = MeanCoefficient(t), s = MarginalStd(t);
        return 1 / Math.Sqrt(m * m + s * s);
    }

    /// <summary>
    /// The fractional training timestep of <paramref name="schedule"/> whose alpha-bar is <see cref="ModelAlphaBar"/>(t):
    /// <see cref="NoiseSchedule.TimestepOfSigma"/> of sigma = std / m.
    /// </summary>
    /// <exception cref="InvalidOperationException">sigma(t) is above the schedule's largest noise level.</exception>
    public virtual double ModelTimestep(NoiseSchedule schedule, double t)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        double sigma = MarginalStd(t) / MeanCoefficient(t);
        try
        {
            return schedule.TimestepOfSigma(sigma);
        }
        catch (ArgumentOutOfRangeException e)
        {
            throw new InvalidOperationException(
                $"The {Name} SDE has noise level sigma = std/m = {sigma} at t = {t}, outside the range the model was trained on " +
                "(the schedule's sigma(T-1)); use an SDE whose noise stays within the schedule, e.g. ScheduleVpSde.", e);
        }
    }

    /// <summary>Checks t in [0, 1].</summary>
    private protected static void CheckTime(double t)
    {
        if (!(t >= 0 && t <= 1)) throw new ArgumentOutOfRangeException(nameof(t), t, "SDE time must lie in [0, 1].");
    }
}

/// <summary>
/// The variance-preserving SDE dx = -beta(t)/2 x dt + sqrt(beta(t)) dw with beta(t) = beta_min + t (beta_max - beta_min)
/// (Song et al. 2021, eq. 11 and appendix B), the continuous limit of DDPM: with N steps, the DDPM betas are
/// beta_i = beta(i / (N - 1)) / N, so the defaults 0.1 and 20 with N = 1000 give Ho et al.'s linear 1e-4..0.02 schedule.
/// Its marginals are close to, but not exactly, that schedule's (the discrete alpha-bar has an extra factor
/// exp(-sum beta_i^2 / 2 - ...)); <see cref="ScheduleVpSde"/> is the VP SDE with exactly a schedule's marginals.
/// </summary>
public sealed class VpSde : Sde
{
    /// <summary>Creates the SDE.</summary>
    /// <param name="betaMin">beta(0). Default 0.1.</param>
    /// <param name="betaMax">beta(1). Default 20.</param>
    public VpSde(double betaMin = 0.1, double betaMax = 20)
    {
        if (!(betaMin >= 0) || !(betaMax >= betaMin) || double.IsInfinity(betaMax))
            throw new ArgumentException($"Need 0 <= beta_min <= beta_max < infinity; got {betaMin} and {betaMax}.");
        BetaMin = betaMin;
        BetaMax = betaMax;
    }

    /// <summary>beta(0).</summary>
    public double BetaMin { get; }

    /// <summary>beta(1).</summary>
    public double BetaMax { get; }

    /// <inheritdoc />
    public override string Name => "vp";

    /// <summary>beta(t) = beta_min + t (beta_max - beta_min).</summary>
    public double Beta(double t)
    {
        CheckTime(t);
        return BetaMin + t * (BetaMax - BetaMin);
    }

    /// <summary>log m(t) = -t^2 (beta_max - beta_min) / 4 - t beta_min / 2 = -(1/2) integral_0^t beta (Song et al. 2021, eq. 33).</summary>
    public double LogMeanCoefficient(double t)
    {
        CheckTime(t);
        return -0.25 * t * t * (BetaMax - BetaMin) - 0.5 * t * BetaMin;
    }

    /// <inheritdoc />
    public override double DriftCoefficient(double t) => -0.5 * Beta(t);

    /// <inheritdoc />
    public override double Diffusion(double t) => Math.Sqrt(Beta(t));

    /// <inheritdoc />
    public override double MeanCoefficient(double t) => Math.Exp(LogMeanCoefficient(t));

    /// <summary>std(t) = sqrt(1 - exp(-integral_0^t beta)) (Song et al. 2021, eq. 33).</summary>
    public override double MarginalStd(double t) => Math.Sqrt(-double.ExpM1(2 * LogMeanCoefficient(t)));

    /// <inheritdoc />
    public override double PriorStd => 1;

    /// <inheritdoc />
    public override double DefaultEps => 1e-3;
}

/// <summary>
/// The sub-VP SDE dx = -beta(t)/2 x dt + sqrt(beta(t) (1 - exp(-2 integral_0^t beta))) dw (Song et al. 2021, eq. 12), with
/// the linear beta(t) of <see cref="VpSde"/>. Same mean coefficient as VP; std(t) = 1 - exp(-integral_0^t beta), so its
/// variance is always below the VP one (eq. 34, appendix B).
/// </summary>
public sealed class SubVpSde : Sde
{
    private readonly VpSde _vp;

    /// <summary>Creates the SDE.</summary>
    /// <param name="betaMin">beta(0). Default 0.1.</param>
    /// <param name="betaMax">beta(1). Default 20.</param>
    public SubVpSde(double betaMin = 0.1, double betaMax = 20) => _vp = new VpSde(betaMin, betaMax);

    /// <summary>beta(0).</summary>
    public double BetaMin => _vp.BetaMin;

    /// <summary>beta(1).</summary>
    public double BetaMax => _vp.BetaMax;

    /// <inheritdoc />
    public override string Name => "sub-vp";

    /// <inheritdoc />
    public override double DriftCoefficient(double t) => -0.5 * _vp.Beta(t);

    /// <summary>g(t) = sqrt(beta(t) (1 - exp(-2 integral_0^t beta))) (Song et al. 2021, eq. 12).</summary>
    public override double Diffusion(double t) => Math.Sqrt(_vp.Beta(t) * -double.ExpM1(4 * _vp.LogMeanCoefficient(t)));

    /// <inheritdoc />
    public override double MeanCoefficient(double t) => _vp.MeanCoefficient(t);

    /// <summary>std(t) = 1 - exp(-integral_0^t beta) (Song et al. 2021, appendix B, eq. 34's solution).</summary>
    public override double MarginalStd(double t) => -double.ExpM1(2 * _vp.LogMeanCoefficient(t));

    /// <inheritdoc />
    public override double PriorStd => 1;

    /// <inheritdoc />
    public override double DefaultEps => 1e-3;
}

/// <summary>
/// The variance-exploding SDE dx = sigma(t) sqrt(2 log(sigma_max / sigma_min)) dw with
/// sigma(t) = sigma_min (sigma_max / sigma_min)^t (Song et al. 2021, eq. 9 and 30), the continuous limit of SMLD / NCSN.
/// As in the paper's code, the perturbation kernel is N(x(0), sigma(t)^2 I): the data at t = 0 count as already perturbed
/// with sigma_min, so m = 1 and std = sigma(t). Prior N(0, sigma_max^2 I). A DDPM model sees x / sqrt(1 + sigma^2) at the
/// timestep of sigma (Karras et al. 2022, Table 1), so sigma_max must stay within the schedule (157 for the linear one).
/// </summary>
public sealed class VeSde : Sde
{
    /// <summary>Creates the SDE.</summary>
    /// <param name="sigmaMin">sigma(0). Default 0.01 (Song et al. 2021, CIFAR-10).</param>
    /// <param name="sigmaMax">sigma(1). Default 50 (Song et al. 2021, CIFAR-10).</param>
    public VeSde(double sigmaMin = 0.01, double sigmaMax = 50)
    {
        if (!(sigmaMin > 0) || !(sigmaMax > sigmaMin) || double.IsInfinity(sigmaMax))
            throw new ArgumentException($"Need 0 < sigma_min < sigma_max < infinity; got {sigmaMin} and {sigmaMax}.");
        SigmaMin = sigmaMin;
        SigmaMax = sigmaMax;
    }

    /// <summary>sigma(0).</summary>
    public double SigmaMin { get; }

    /// <summary>sigma(1).</summary>
    public double SigmaMax { get; }

    /// <inheritdoc />
    public override string Name => "ve";

    /// <summary>sigma(t) = sigma_min (sigma_max / sigma_min)^t (Song et al. 2021, eq. 30).</summary>
    public double Sigma(double t)
    {
        CheckTime(t);
        return SigmaMin * Math.Pow(SigmaMax / SigmaMin, t);
    }

    /// <inheritdoc />
    public override double DriftCoefficient(double t)
    {
        CheckTime(t);
        return 0;
    }

    /// <summary>g(t) = sigma(t) sqrt(2 log(sigma_max / sigma_min)) = sqrt(d sigma^2 / dt) (Song et al. 2021, eq. 30).</summary>
    public override double Diffusion(double t) => Sigma(t) * Math.Sqrt(2 * Math.Log(SigmaMax / SigmaMin));

    /// <inheritdoc />
    public override double MeanCoefficient(double t)
    {
        CheckTime(t);
        return 1;
    }

    /// <inheritdoc />
    public override double MarginalStd(double t) => Sigma(t);

    /// <inheritdoc />
    public override double PriorStd => SigmaMax;

    /// <inheritdoc />
    public override double DefaultEps => 1e-5;
}
