using Diffusion.ML.Schedules;

namespace Diffusion.ML.Sampling;

/// <summary>
/// Base of the samplers that integrate in the variance-exploding view of Karras et al. 2022 ("Elucidating the Design Space of
/// Diffusion-Based Generative Models", EDM), as diffusers' Euler, Heun and Euler-ancestral schedulers do. The sampler state is
/// x_ve = x_vp / sqrt(abar) = x_vp sqrt(1 + sigma^2) at noise level sigma, sigma^2 = (1 - abar) / abar (Table 1, VP); the
/// model sees x_ve / sqrt(1 + sigma^2) (diffusers' <c>scale_model_input</c>) at the fractional timestep
/// <see cref="NoiseSchedule.TimestepOfSigma"/> of sigma, and D(x; sigma) is the context's x_0 estimate (clipped if the
/// options ask for it).
/// <para>
/// Noise levels (<see cref="NoiseLevels"/>): with <see cref="UseKarrasSigmas"/> the N = <c>Timesteps.Count</c> levels of eq. 5
/// between sigma_min and sigma_max, then 0. As in diffusers' <c>use_karras_sigmas</c>, sigma_max and sigma_min default to the
/// sigmas of the first and last listed timesteps (for linspace spacing: the whole training range, sigma(T-1) and sigma(0)), and
/// the listed timesteps are otherwise ignored: only their count and endpoints matter. Without it, the sigmas of the listed
/// timesteps themselves, then 0 (diffusers' default).
/// </para>
/// <para>
/// Initial sample: x_T ~ N(0, I) in VP scaling at sigma_0 becomes x_ve = x_T sqrt(sigma_0^2 + 1), so the model's first input is
/// exactly x_T. This is diffusers' <c>init_noise_sigma</c> = sqrt(sigma_max^2 + 1) of leading spacing; for linspace and
/// trailing spacing diffusers uses sigma_max instead, a factor sigma_max / sqrt(sigma_max^2 + 1) smaller (1 - 2e-5 for the
/// linear DDPM schedule).
/// </para>
/// </summary>
public abstract class KarrasSampler : ISampler
{
    /// <summary>Sets the noise-level options shared by the VE samplers.</summary>
    /// <param name="useKarrasSigmas">Use the eq. 5 levels (true) or the sigmas of the listed timesteps (false).</param>
    /// <param name="rho">rho of eq. 5 (&gt; 0).</param>
    /// <param name="sigmaMin">sigma_min of eq. 5, or null for the sigma of the last listed timestep.</param>
    /// <param name="sigmaMax">sigma_max of eq. 5, or null for the sigma of the first listed timestep.</param>
    protected KarrasSampler(bool useKarrasSigmas, double rho, double? sigmaMin, double? sigmaMax)
    {
        if (!(rho > 0) || double.IsInfinity(rho)) throw new ArgumentOutOfRangeException(nameof(rho), rho, "rho must be positive and finite.");
        if (sigmaMin is { } min && !(min > 0)) throw new ArgumentOutOfRangeException(nameof(sigmaMin), min, "sigma_min must be > 0.");
        if (sigmaMax is { } max && !(max > 0)) throw new ArgumentOutOfRangeException(nameof(sigmaMax), max, "sigma_max must be > 0.");
        if (sigmaMin is { } a && sigmaMax is { } b && a > b)
            throw new ArgumentException($"sigma_min = {a} is above sigma_max = {b}.", nameof(sigmaMin));
        UseKarrasSigmas = useKarrasSigmas;
        Rho = rho;
        SigmaMin = sigmaMin;
        SigmaMax = sigmaMax;
    }

    /// <summary>Whether the noise levels follow Karras et al. 2022, eq. 5 (otherwise: the sigmas of the listed timesteps).</summary>
    public bool UseKarrasSigmas { get; }

    /// <summary>rho of eq. 5.</summary>
    public double Rho { get; }

    /// <summary>sigma_min of eq. 5; null means the sigma of the last listed timestep.</summary>
    public double? SigmaMin { get; }

    /// <summary>sigma_max of eq. 5; null means the sigma of the first listed timestep.</summary>
    public double? SigmaMax { get; }

    /// <inheritdoc />
    public abstract string Name { get; }

    /// <inheritdoc />
    public abstract int ModelEvaluations(int timestepCount);

    /// <inheritdoc />
    public abstract void Sample(SamplingContext context, Span<float> x);

    /// <summary>
    /// The noise levels sigma_0 &gt; ... &gt; sigma_(N-1) &gt; sigma_N = 0 of a run over <paramref name="timesteps"/>
    /// (N = their count); see the class remarks.
    /// </summary>
    /// <exception cref="InvalidOperationException">The first timestep has infinite sigma (zero terminal SNR).</exception>
    public double[] NoiseLevels(NoiseSchedule schedule, IReadOnlyList<int> timesteps)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        ArgumentNullException.ThrowIfNull(timesteps);
        InferenceTimesteps.Validate(timesteps, schedule.NumTrainTimesteps);
        int n = timesteps.Count;
        double first = KarrasSigmas.FromAlphaBar(schedule.AlphaBar[timesteps[0]]);
        if (double.IsInfinity(first))
            throw new InvalidOperationException(
                $"Timestep {timesteps[0]} has alpha-bar 0 (zero terminal SNR), so its VE noise level sigma is infinite; " +
                $"the {Name} sampler needs a finite sigma_max: start from a lower timestep or pass sigmaMax.");
        if (UseKarrasSigmas)
        {
            double sigmaMax = SigmaMax ?? first;
            double sigmaMin = SigmaMin ?? Math.Min(KarrasSigmas.FromAlphaBar(schedule.AlphaBar[timesteps[n - 1]]), sigmaMax);
            return KarrasSigmas.Create(n, sigmaMin, sigmaMax, Rho);
        }
        var sigmas = new double[n + 1];
        for (int i = 0; i < n; i++) sigmas[i] = KarrasSigmas.FromAlphaBar(schedule.AlphaBar[timesteps[i]]);
        return sigmas;
    }

    /// <summary>The model timestep of noise level i: the listed timestep itself without Karras sigmas, else its inverse.</summary>
    private protected double ModelTimestep(NoiseSchedule schedule, IReadOnlyList<int> timesteps, double[] sigmas, int i) =>
        UseKarrasSigmas ? schedule.TimestepOfSigma(sigmas[i]) : timesteps[i];

    /// <summary>x_ve = x_T sqrt(sigma_0^2 + 1): the VP draw x_T seen at noise level sigma_0.</summary>
    private protected static double[] InitialState(ReadOnlySpan<float> x, double sigma0)
    {
        var state = new double[x.Length];
        double scale = Math.Sqrt(sigma0 * sigma0 + 1);
        for (int i = 0; i < x.Length; i++) state[i] = x[i] * scale;
        return state;
    }

    /// <summary>Writes the final state (sigma = 0, where x_ve = x_vp) back to the caller's span.</summary>
    private protected static void Store(double[] state, Span<float> x)
    {
        for (int i = 0; i < x.Length; i++) x[i] = (float)state[i];
    }

    /// <summary>
    /// d = (x - D(x; sigma)) / sigma, the probability-flow ODE's dx/dsigma (Karras et al. 2022, eq. 1 and 3; Alg. 1, line 4),
    /// with D the model's x_0 estimate at the VP input x / sqrt(1 + sigma^2) and timestep <paramref name="t"/>.
    /// </summary>
    private protected static void Derivative(SamplingContext context, double[] state, double sigma, double t, Buffers buffers, double[] d)
    {
        double inputScale = 1 / Math.Sqrt(1 + sigma * sigma);
        for (int i = 0; i < state.Length; i++) buffers.Input[i] = (float)(state[i] * inputScale);
        context.Denoise(buffers.Input, t, buffers.X0, buffers.Eps);
        for (int i = 0; i < state.Length; i++) d[i] = (state[i] - buffers.X0[i]) / sigma;
    }

    /// <summary>Per-run scratch space (the sampler itself keeps no per-run state).</summary>
    private protected sealed class Buffers(int n)
    {
        public float[] Input { get; } = new float[n];
        public float[] X0 { get; } = new float[n];
        public float[] Eps { get; } = new float[n];
        public float[] Noise { get; } = new float[n];
    }

    /// <summary>
    /// Karras et al. 2022, Alg. 2: optional churn (raise sigma_i to sigma_hat = (1 + gamma) sigma_i with fresh noise), an Euler
    /// step to sigma_(i+1), and with <paramref name="secondOrder"/> Heun's correction unless sigma_(i+1) = 0.
    /// </summary>
    private protected void SampleAlgorithm2(SamplingContext context, Span<float> x, bool secondOrder,
        double sChurn, double sTmin, double sTmax, double sNoise)
    {
        ArgumentNullException.ThrowIfNull(context);
        NoiseSchedule schedule = context.Schedule;
        IReadOnlyList<int> timesteps = context.Timesteps;
        double[] sigmas = NoiseLevels(schedule, timesteps);
        int steps = timesteps.Count, n = x.Length;
        // The model cannot be evaluated above the training range, so churn never raises sigma past sigma(T-1).
        double sigmaTop = KarrasSigmas.FromAlphaBar(schedule.AlphaBar[schedule.NumTrainTimesteps - 1]);
        double[] state = InitialState(x, sigmas[0]);
        var buffers = new Buffers(n);
        var d = new double[n];
        var dNext = secondOrder ? new double[n] : [];
        var next = secondOrder ? new double[n] : [];
        for (int i = 0; i < steps; i++)
        {
            double sigma = sigmas[i], sigmaNext = sigmas[i + 1];
            // gamma_i = min(S_churn / N, sqrt(2) - 1) if sigma_i in [S_tmin, S_tmax], else 0   (Alg. 2, line 4)
            double gamma = sChurn > 0 && sigma >= sTmin && sigma <= sTmax ? Math.Min(sChurn / steps, Math.Sqrt(2) - 1) : 0;
            double sigmaHat = Math.Min(sigma * (1 + gamma), Math.Max(sigmaTop, sigma));
            double t;
            if (sigmaHat > sigma)
            {
                // x_hat = x_i + sqrt(sigma_hat^2 - sigma_i^2) eps, eps ~ N(0, S_noise^2 I)   (Alg. 2, lines 5-6)
                context.DrawNoise(buffers.Noise);
                double scale = Math.Sqrt(sigmaHat * sigmaHat - sigma * sigma) * sNoise;
                for (int j = 0; j < n; j++) state[j] += scale * buffers.Noise[j];
                t = schedule.TimestepOfSigma(sigmaHat);
            }
            else
            {
                sigmaHat = sigma;
                t = ModelTimestep(schedule, timesteps, sigmas, i);
            }
            Derivative(context, state, sigmaHat, t, buffers, d);
            double h = sigmaNext - sigmaHat;
            if (!secondOrder || sigmaNext == 0)
            {
                // x_(i+1) = x_hat + (sigma_(i+1) - sigma_hat) d_i   (Alg. 2, line 8)
                for (int j = 0; j < n; j++) state[j] += h * d[j];
                continue;
            }
            for (int j = 0; j < n; j++) next[j] = state[j] + h * d[j];
            Derivative(context, next, sigmaNext, ModelTimestep(schedule, timesteps, sigmas, i + 1), buffers, dNext);
            // x_(i+1) = x_hat + (sigma_(i+1) - sigma_hat) (d_i + d'_i) / 2   (Alg. 2, lines 9-11)
            for (int j = 0; j < n; j++) state[j] += h * 0.5 * (d[j] + dNext[j]);
        }
        Store(state, x);
    }
}
