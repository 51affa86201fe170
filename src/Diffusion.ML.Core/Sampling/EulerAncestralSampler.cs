namespace Diffusion.ML.Sampling;

/// <summary>
/// Ancestral Euler sampling in the VE view (k-diffusion's <c>sample_euler_ancestral</c>, diffusers'
/// <c>EulerAncestralDiscreteScheduler</c>): each step from sigma to sigma' splits sigma' into
/// sigma_up = min(sigma', eta sqrt(sigma'^2 (sigma^2 - sigma'^2) / sigma^2)) and sigma_down = sqrt(sigma'^2 - sigma_up^2)
/// (the DDPM posterior in VE form, Ho et al. 2020, eq. 7), takes an Euler step of the probability-flow ODE to sigma_down
/// (Karras et al. 2022, Alg. 1, lines 4-5), and adds fresh noise of standard deviation sigma_up (drawn with
/// <see cref="SamplingContext.DrawNoise"/>; none on the last step to sigma = 0). One model evaluation per step. Noise levels,
/// timesteps and the initial scaling are described on <see cref="KarrasSampler"/>.
/// </summary>
public sealed class EulerAncestralSampler : KarrasSampler
{
    /// <summary>Creates the sampler.</summary>
    /// <param name="useKarrasSigmas">Noise levels of Karras et al. 2022, eq. 5 (true) or the sigmas of the listed timesteps
    /// (false, diffusers' only choice for this scheduler). Default true.</param>
    /// <param name="rho">rho of eq. 5. Default 7.</param>
    /// <param name="sigmaMin">sigma_min of eq. 5; null (default) takes the sigma of the last listed timestep.</param>
    /// <param name="sigmaMax">sigma_max of eq. 5; null (default) takes the sigma of the first listed timestep.</param>
    /// <param name="eta">Scale of sigma_up (k-diffusion's eta): 0 gives the deterministic Euler sampler, 1 the DDPM posterior. Default 1.</param>
    /// <param name="sNoise">Scale of the added noise (k-diffusion's s_noise). Default 1.</param>
    public EulerAncestralSampler(bool useKarrasSigmas = true, double rho = Schedules.KarrasSigmas.DefaultRho, double? sigmaMin = null,
        double? sigmaMax = null, double eta = 1, double sNoise = 1)
        : base(useKarrasSigmas, rho, sigmaMin, sigmaMax)
    {
        if (!(eta >= 0) || double.IsInfinity(eta)) throw new ArgumentOutOfRangeException(nameof(eta), eta, "eta must be finite and >= 0.");
        if (!(sNoise >= 0) || double.IsInfinity(sNoise)) throw new ArgumentOutOfRangeException(nameof(sNoise), sNoise, "s_noise must be finite and >= 0.");
        Eta = eta;
        SNoise = sNoise;
    }

    /// <summary>Scale of sigma_up.</summary>
    public double Eta { get; }

    /// <summary>Scale of the added noise.</summary>
    public double SNoise { get; }

    /// <inheritdoc />
    public override string Name => "euler-ancestral";

    /// <inheritdoc />
    public override int ModelEvaluations(int timestepCount) => timestepCount;

    /// <inheritdoc />
    public override void Sample(SamplingContext context, Span<float> x)
    {
        ArgumentNullException.ThrowIfNull(context);
        var schedule = context.Schedule;
        var timesteps = context.Timesteps;
        double[] sigmas = NoiseLevels(schedule, timesteps);
        int n = x.Length;
        double[] state = InitialState(x, sigmas[0]);
        var buffers = new Buffers(n);
        var d = new double[n];
        for (int i = 0; i < timesteps.Count; i++)
        {
            double sigma = sigmas[i], sigmaNext = sigmas[i + 1];
            Derivative(context, state, sigma, ModelTimestep(schedule, timesteps, sigmas, i), buffers, d);
            double sigmaUp = Math.Min(sigmaNext, Eta * Math.Sqrt(sigmaNext * sigmaNext * (sigma * sigma - sigmaNext * sigmaNext) / (sigma * sigma)));
            double sigmaDown = Math.Sqrt(sigmaNext * sigmaNext - sigmaUp * sigmaUp);
            // x' = x + (sigma_down - sigma) d + sigma_up z
            double h = sigmaDown - sigma;
            for (int j = 0; j < n; j++) state[j] += h * d[j];
            if (sigmaUp > 0)
            {
                context.DrawNoise(buffers.Noise);
                double scale = sigmaUp * SNoise;
                for (int j = 0; j < n; j++) state[j] += scale * buffers.Noise[j];
            }
        }
        Store(state, x);
    }
}
