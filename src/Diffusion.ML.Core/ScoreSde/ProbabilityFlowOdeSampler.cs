using Diffusion.ML.Sampling;

namespace Diffusion.ML.ScoreSde;

/// <summary>
/// Deterministic sampling by the probability-flow ODE dx/dt = f(t) x - (1/2) g(t)^2 grad log p_t(x) (Song et al. 2021,
/// eq. 13), integrated from t = 1 down to t = eps (<see cref="Eps"/>, default <see cref="Sde.DefaultEps"/>) with the
/// adaptive Dormand-Prince RK45 method (Dormand and Prince 1980; step-size control of Hairer, Norsett and Wanner I, sec. II.4),
/// as the paper does with scipy's RK45 (rtol = atol = 1e-5). With <see cref="Denoise"/>, the output is the model's x_0
/// estimate at t = eps (Tweedie's formula, E[x_0 | x(eps)]), read from the solver's last evaluation, so it costs nothing.
/// <para>
/// The listed timesteps are ignored: the solver picks its own steps. Batch independence: by default every sample has its own
/// step-size controller and error norm (<see cref="SharedStepSize"/> false), so a sample is the same in any batch. The
/// samples of a batch then sit at different times; each stage is still one model call, with one timestep per sample
/// (<see cref="SamplingContext.Denoise(ReadOnlySpan{float}, ReadOnlySpan{double}, Span{float}, Span{float})"/>), and the
/// batch takes as many stages as its slowest sample. <see cref="SharedStepSize"/> gives the paper's convention instead (one
/// controller for the whole flattened batch; a sample then changes with its batch mates, within the tolerance).
/// </para>
/// <para>
/// <see cref="ModelEvaluations"/> is an estimate, since an adaptive solver's count is known only afterwards
/// (<see cref="SamplingContext.Evaluations"/> has the true count); see <see cref="EstimatedEvaluations"/>.
/// </para>
/// </summary>
public sealed class ProbabilityFlowOdeSampler : ISampler
{
    /// <summary>Creates the sampler.</summary>
    /// <param name="rtol">Relative tolerance (&gt; 0). Default 1e-5 (Song et al. 2021).</param>
    /// <param name="atol">Absolute tolerance (&gt; 0). Default 1e-5.</param>
    /// <param name="denoise">Return Tweedie's x_0 estimate at t = eps (true, default) or x(eps) itself.</param>
    /// <param name="sharedStepSize">One step-size controller for the whole batch (see the class remarks). Default false.</param>
    /// <param name="sde">The SDE; null (default) uses <see cref="ScheduleVpSde"/> of the context's schedule.</param>
    /// <param name="eps">The end time in (0, 1); null (default) takes <see cref="Sde.DefaultEps"/>.</param>
    /// <param name="estimatedEvaluations">What <see cref="ModelEvaluations"/> reports (&gt; 0). Default 100.</param>
    public ProbabilityFlowOdeSampler(double rtol = 1e-5, double atol = 1e-5, bool denoise = true, bool sharedStepSize = false,
        Sde? sde = null, double? eps = null, int estimatedEvaluations = 100)
    {
        if (!(rtol > 0) || double.IsInfinity(rtol)) throw new ArgumentOutOfRangeException(nameof(rtol), rtol, "rtol must be positive and finite.");
        if (!(atol > 0) || double.IsInfinity(atol)) throw new ArgumentOutOfRangeException(nameof(atol), atol, "atol must be positive and finite.");
        if (eps is { } e && !(e > 0 && e < 1)) throw new ArgumentOutOfRangeException(nameof(eps), e, "eps must lie in (0, 1).");
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(estimatedEvaluations);
        RelativeTolerance = rtol;
        AbsoluteTolerance = atol;
        Denoise = denoise;
        SharedStepSize = sharedStepSize;
        Sde = sde;
        Eps = eps;
        EstimatedEvaluations = estimatedEvaluations;
    }

    /// <summary>Relative tolerance of RK45.</summary>
    public double RelativeTolerance { get; }

    /// <summary>Absolute tolerance of RK45.</summary>
    public double AbsoluteTolerance { get; }

    /// <summary>Whether the output is the x_0 estimate at t = eps rather than x(eps).</summary>
    public bool Denoise { get; }

    /// <summary>Whether the batch shares one step-size controller (not batch-independent; see the class remarks).</summary>
    public bool SharedStepSize { get; }

    /// <summary>The SDE, or null for the context schedule's <see cref="ScheduleVpSde"/>.</summary>
    public Sde? Sde { get; }

    /// <summary>The end time, or null for <see cref="Sde.DefaultEps"/>.</summary>
    public double? Eps { get; }

    /// <summary>
    /// The evaluation count <see cref="ModelEvaluations"/> reports for progress: the solver's real count depends on the model
    /// and the tolerances (Gaussian data at 1e-5: about 40-60 per sample; Song et al. report 100-200 on CIFAR-10).
    /// </summary>
    public int EstimatedEvaluations { get; }

    /// <inheritdoc />
    public string Name => "pf-ode-rk45";

    /// <summary>An estimate (<see cref="EstimatedEvaluations"/>); the timestep count plays no part.</summary>
    public int ModelEvaluations(int timestepCount) => EstimatedEvaluations;

    /// <inheritdoc />
    public void Sample(SamplingContext context, Span<float> x)
    {
        ArgumentNullException.ThrowIfNull(context);
        var model = new SdeModel(context, Sde);
        Sde sde = model.Sde;
        double end = Eps ?? sde.DefaultEps;
        int batch = context.BatchSize, d = context.SampleSize, n = x.Length;
        int groups = SharedStepSize ? 1 : batch, size = SharedStepSize ? n : d;
        double[] state = model.InitialState(x);
        var denoised = new float[n];

        void Drift(ReadOnlySpan<double> times, ReadOnlySpan<bool> active, double[] y, double[] dydt)
        {
            if (SharedStepSize) model.Evaluate(y, times[0]);
            else model.Evaluate(y, times); // one model call, each sample at its own time
            for (int g = 0; g < groups; g++)
            {
                if (!active[g]) continue;
                double t = times[g];
                double f = sde.DriftCoefficient(t), diffusion = sde.Diffusion(t), halfG2OverStd = 0.5 * diffusion * diffusion / sde.MarginalStd(t);
                for (int i = g * size; i < (g + 1) * size; i++)
                {
                    // f x - (1/2) g^2 s with s = -eps / std   (Song et al. 2021, eq. 13)
                    dydt[i] = f * y[i] + halfG2OverStd * model.Eps[i];
                    if (t == end) denoised[i] = model.X0[i];
                }
            }
        }

        DormandPrince.Integrate(groups, size, 1, end, state, Drift, RelativeTolerance, AbsoluteTolerance,
            cancellationToken: context.CancellationToken);
        for (int i = 0; i < n; i++) x[i] = Denoise ? denoised[i] : (float)state[i];
    }
}
