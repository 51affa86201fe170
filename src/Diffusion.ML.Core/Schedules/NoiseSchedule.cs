using System.Collections.Immutable;

namespace Diffusion.ML.Schedules;

/// <summary>
/// An immutable discrete-time DDPM noise schedule with every derived quantity of Ho et al. 2020 (sec. 2 and eq. 6-7),
/// indexed by the 0-based timestep t = 0..T-1 (index t is the paper's step t+1). Names follow diffusers
/// (<c>AlphasCumprod</c>) and lucidrains (<c>PosteriorMeanCoef1</c>); <see cref="AlphaBar"/> is the paper's name.
/// </summary>
public sealed class NoiseSchedule
{
    /// <summary>Builds the schedule the options describe.</summary>
    public NoiseSchedule(NoiseScheduleOptions options)
    {
        Options = options ?? throw new ArgumentNullException(nameof(options));
        double[] betas = BetaSchedules.Create(options);
        if (options.RescaleZeroTerminalSnr) betas = BetaSchedules.RescaleZeroTerminalSnr(betas);
        int n = betas.Length;

        var alphas = new double[n];
        var alphaBar = new double[n];
        double prod = 1;
        for (int i = 0; i < n; i++)
        {
            alphas[i] = 1 - betas[i];
            prod *= alphas[i];
            alphaBar[i] = prod;
        }
        var alphaBarPrev = new double[n];
        alphaBarPrev[0] = 1;
        Array.Copy(alphaBar, 0, alphaBarPrev, 1, n - 1);

        var coef1 = new double[n];
        var coef2 = new double[n];
        var posteriorVariance = new double[n];
        for (int i = 0; i < n; i++)
        {
            // q(x_{t-1} | x_t, x_0) = N(coef1 x_0 + coef2 x_t, beta-tilde_t I)   (Ho et al. 2020, eq. 6-7)
            coef1[i] = betas[i] * Math.Sqrt(alphaBarPrev[i]) / (1 - alphaBar[i]);
            coef2[i] = (1 - alphaBarPrev[i]) * Math.Sqrt(alphas[i]) / (1 - alphaBar[i]);
            posteriorVariance[i] = betas[i] * (1 - alphaBarPrev[i]) / (1 - alphaBar[i]);
        }
        // beta-tilde_1 = 0, so its log is clipped to the next value (Ho et al. 2020 code; Nichol and Dhariwal 2021).
        var posteriorLogVarianceClipped = new double[n];
        for (int i = 0; i < n; i++)
            posteriorLogVarianceClipped[i] = Math.Log(i == 0 ? posteriorVariance[Math.Min(1, n - 1)] : posteriorVariance[i]);

        Betas = [.. betas];
        Alphas = [.. alphas];
        AlphaBar = [.. alphaBar];
        AlphaBarPrev = [.. alphaBarPrev];
        SqrtAlphaBar = [.. alphaBar.Select(Math.Sqrt)];
        SqrtOneMinusAlphaBar = [.. alphaBar.Select(a => Math.Sqrt(1 - a))];
        LogOneMinusAlphaBar = [.. alphaBar.Select(a => Math.Log(1 - a))];
        SqrtRecipAlphaBar = [.. alphaBar.Select(a => 1 / Math.Sqrt(a))];
        SqrtRecipMinusOneAlphaBar = [.. alphaBar.Select(a => Math.Sqrt(1 / a - 1))];
        PosteriorVariance = [.. posteriorVariance];
        PosteriorLogVarianceClipped = [.. posteriorLogVarianceClipped];
        PosteriorMeanCoef1 = [.. coef1];
        PosteriorMeanCoef2 = [.. coef2];
        Snr = [.. alphaBar.Select(a => a / (1 - a))];
    }

    /// <summary>The options this schedule was built from.</summary>
    public NoiseScheduleOptions Options { get; }

    /// <summary>T, the number of training timesteps.</summary>
    public int NumTrainTimesteps => Betas.Length;

    /// <summary>beta_t, the forward-process variances.</summary>
    public ImmutableArray<double> Betas { get; }

    /// <summary>alpha_t = 1 - beta_t.</summary>
    public ImmutableArray<double> Alphas { get; }

    /// <summary>alpha-bar_t = prod_{s &lt;= t} alpha_s (diffusers' <c>alphas_cumprod</c>).</summary>
    public ImmutableArray<double> AlphaBar { get; }

    /// <summary>alpha-bar_{t-1}, with alpha-bar before the first step equal to 1.</summary>
    public ImmutableArray<double> AlphaBarPrev { get; }

    /// <summary>sqrt(alpha-bar_t), the signal scale of q(x_t | x_0).</summary>
    public ImmutableArray<double> SqrtAlphaBar { get; }

    /// <summary>sqrt(1 - alpha-bar_t), the noise scale of q(x_t | x_0).</summary>
    public ImmutableArray<double> SqrtOneMinusAlphaBar { get; }

    /// <summary>log(1 - alpha-bar_t).</summary>
    public ImmutableArray<double> LogOneMinusAlphaBar { get; }

    /// <summary>1 / sqrt(alpha-bar_t).</summary>
    public ImmutableArray<double> SqrtRecipAlphaBar { get; }

    /// <summary>sqrt(1 / alpha-bar_t - 1); x_0 = SqrtRecipAlphaBar x_t - SqrtRecipMinusOneAlphaBar eps.</summary>
    public ImmutableArray<double> SqrtRecipMinusOneAlphaBar { get; }

    /// <summary>beta-tilde_t = beta_t (1 - alpha-bar_{t-1}) / (1 - alpha-bar_t), the variance of q(x_{t-1} | x_t, x_0).</summary>
    public ImmutableArray<double> PosteriorVariance { get; }

    /// <summary>log beta-tilde_t with the t = 0 entry (which is log 0) replaced by the t = 1 value.</summary>
    public ImmutableArray<double> PosteriorLogVarianceClipped { get; }

    /// <summary>Coefficient of x_0 in the posterior mean: beta_t sqrt(alpha-bar_{t-1}) / (1 - alpha-bar_t).</summary>
    public ImmutableArray<double> PosteriorMeanCoef1 { get; }

    /// <summary>Coefficient of x_t in the posterior mean: (1 - alpha-bar_{t-1}) sqrt(alpha_t) / (1 - alpha-bar_t).</summary>
    public ImmutableArray<double> PosteriorMeanCoef2 { get; }

    /// <summary>Signal-to-noise ratio alpha-bar_t / (1 - alpha-bar_t) (Kingma et al. 2021).</summary>
    public ImmutableArray<double> Snr { get; }

    /// <summary>
    /// alpha-bar at timestep t, with t = -1 meaning "before the first step" (alpha-bar = 1). Samplers use t = -1 as the
    /// target of their last step.
    /// </summary>
    public double AlphaBarAt(int t)
    {
        if (t < -1 || t >= NumTrainTimesteps)
            throw new ArgumentOutOfRangeException(nameof(t), t, $"Timestep must lie in [-1, {NumTrainTimesteps - 1}].");
        return t < 0 ? 1.0 : AlphaBar[t];
    }

    /// <summary>
    /// alpha-bar at a fractional timestep t in [-1, T-1], for samplers that evaluate the model between training timesteps
    /// (Karras et al. 2022 samplers, continuous-time solvers). Integer t gives <see cref="AlphaBarAt(int)"/> exactly; in between,
    /// log sigma with sigma^2 = (1 - abar) / abar is interpolated linearly, the convention of diffusers' Karras-sigma schedulers.
    /// Between t = -1 (sigma = 0) and t = 0, sigma^2 is interpolated linearly instead (log 0 is not finite).
    /// </summary>
    public double InterpolatedAlphaBar(double t)
    {
        if (!(t >= -1 && t <= NumTrainTimesteps - 1))
            throw new ArgumentOutOfRangeException(nameof(t), t, $"Timestep must lie in [-1, {NumTrainTimesteps - 1}].");
        int low = (int)Math.Floor(t);
        double fraction = t - low;
        if (fraction == 0) return AlphaBarAt(low);
        double varianceLow = low < 0 ? 0 : (1 - AlphaBar[low]) / AlphaBar[low], varianceHigh = (1 - AlphaBar[low + 1]) / AlphaBar[low + 1];
        double variance = low < 0
            ? fraction * varianceHigh
            : Math.Exp((1 - fraction) * Math.Log(varianceLow) + fraction * Math.Log(varianceHigh));
        return 1 / (1 + variance); // abar = 1 / (1 + sigma^2)   (Karras et al. 2022, Table 1: VP with s(t) = 1 / sqrt(1 + sigma^2))
    }

    /// <summary>
    /// The fractional timestep t in [-1, T-1] whose <see cref="InterpolatedAlphaBar"/> has the VE noise level
    /// <paramref name="sigma"/>, sigma^2 = (1 - abar) / abar: the exact inverse of that interpolation (log sigma linear between
    /// training timesteps, sigma^2 linear between t = -1 and 0), and diffusers' <c>_sigma_to_t</c> inside the training range.
    /// sigma = 0 gives -1; the sigma of a training timestep gives that timestep. Samplers in the VE view (Karras et al. 2022)
    /// use it to tell the model the timestep of a noise level.
    /// </summary>
    /// <param name="sigma">Noise level, from 0 to the sigma of t = T-1 (a relative excess of 1e-9 is read as T-1).</param>
    /// <exception cref="ArgumentOutOfRangeException">sigma is negative, not finite, above the training range, or (with zero
    /// terminal SNR, where sigma(T-1) is infinite) above sigma(T-2).</exception>
    public double TimestepOfSigma(double sigma)
    {
        int top = NumTrainTimesteps - 1;
        if (!(sigma >= 0) || double.IsPositiveInfinity(sigma))
            throw new ArgumentOutOfRangeException(nameof(sigma), sigma, "sigma must be finite and >= 0.");
        if (sigma == 0) return -1;
        double variance = sigma * sigma;
        double VarianceAt(int t) => (1 - AlphaBar[t]) / AlphaBar[t]; // the expression InterpolatedAlphaBar interpolates
        double first = VarianceAt(0), last = VarianceAt(top);
        if (variance <= first) return variance == first ? 0 : variance / first - 1;
        if (variance >= last)
        {
            if (variance <= last * (1 + 1e-9)) return top;
            throw new ArgumentOutOfRangeException(nameof(sigma), sigma,
                $"sigma is above the largest noise level of the schedule, sigma(T-1) = {Math.Sqrt(last)}.");
        }
        int low = 0, high = top; // VarianceAt(low) < variance < VarianceAt(high)
        while (high - low > 1)
        {
            int middle = (low + high) / 2;
            if (VarianceAt(middle) <= variance) low = middle;
            else high = middle;
        }
        double varianceLow = VarianceAt(low), varianceHigh = VarianceAt(high);
        if (variance == varianceLow) return low;
        if (double.IsPositiveInfinity(varianceHigh))
            throw new ArgumentOutOfRangeException(nameof(sigma), sigma,
                "With zero terminal SNR, sigma(T-1) is infinite and no timestep has a sigma above sigma(T-2).");
        return low + (Math.Log(variance) - Math.Log(varianceLow)) / (Math.Log(varianceHigh) - Math.Log(varianceLow));
    }

    /// <summary>
    /// Mean coefficients and variance of q(x_s | x_t, x_0) for any s &lt; t, the posterior that an ancestral step from t to s
    /// uses (Ho et al. 2020, eq. 7 with alpha_t replaced by alpha-bar_t / alpha-bar_s). For s = t - 1 this equals
    /// (<see cref="PosteriorMeanCoef1"/>, <see cref="PosteriorMeanCoef2"/>, <see cref="PosteriorVariance"/>).
    /// </summary>
    public PosteriorCoefficients Posterior(int t, int s)
    {
        if (s >= t) throw new ArgumentException($"The target timestep s={s} must be before t={t}.", nameof(s));
        double abarT = AlphaBarAt(t), abarS = AlphaBarAt(s);
        double alphaTs = abarT / abarS, betaTs = 1 - alphaTs;
        return new PosteriorCoefficients(
            X0: betaTs * Math.Sqrt(abarS) / (1 - abarT),
            Xt: (1 - abarS) * Math.Sqrt(alphaTs) / (1 - abarT),
            Variance: betaTs * (1 - abarS) / (1 - abarT),
            Beta: betaTs);
    }
}

/// <summary>q(x_s | x_t, x_0) = N(X0 x_0 + Xt x_t, Variance I); <see cref="Beta"/> = 1 - alpha-bar_t / alpha-bar_s is the "fixed large" variance.</summary>
/// <param name="X0">Coefficient of x_0 in the mean.</param>
/// <param name="Xt">Coefficient of x_t in the mean.</param>
/// <param name="Variance">Posterior variance (DDPM's "fixed small").</param>
/// <param name="Beta">The step's beta (DDPM's "fixed large").</param>
public readonly record struct PosteriorCoefficients(double X0, double Xt, double Variance, double Beta);
