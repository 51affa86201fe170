namespace Diffusion.ML.Sampling;

/// <summary>
/// UniPC (Zhao et al. 2023, "UniPC: A Unified Predictor-Corrector Framework for Fast Sampling of Diffusion Models"): the
/// multistep predictor UniP-p followed, at each new point, by the corrector UniC-p, which reuses the model evaluation that the
/// next step needs anyway, so the pair costs one model evaluation per step and raises the order by one. Data-prediction form
/// (diffusers' predict_x0 = true) in lambda = log(alpha / sigma). Step rules and coefficients follow diffusers'
/// <c>UniPCMultistepScheduler</c> (final_sigmas_type "zero"), so results are interchangeable with it for the same timesteps:
/// step k predicts with order min(<see cref="Order"/>, k + 1), and with <see cref="LowerOrderFinal"/> also at most the number
/// of steps left; the corrector is applied at every new point except the final clean sample; the last step, to sigma = 0,
/// returns the x_0 estimate.
/// </summary>
public sealed class UniPcSampler : ISampler
{
    private readonly int[] _disabledCorrectors;

    /// <summary>Creates the sampler.</summary>
    /// <param name="order">Order p of UniP (UniC then gives order p + 1), 1 to 3. Default 2, diffusers' default.</param>
    /// <param name="variant">The function B(h). Default <see cref="UniPcVariant.Bh2"/>, diffusers' default.</param>
    /// <param name="lowerOrderFinal">Predict with at most as many orders as steps remain (diffusers' <c>lower_order_final</c>, applied for any step count). Default true.</param>
    /// <param name="disableCorrector">Step indices k (0-based) whose result is not corrected (diffusers' <c>disable_corrector</c>). Default none.</param>
    public UniPcSampler(int order = 2, UniPcVariant variant = UniPcVariant.Bh2, bool lowerOrderFinal = true, IEnumerable<int>? disableCorrector = null)
    {
        if (order is < 1 or > 3) throw new ArgumentOutOfRangeException(nameof(order), order, "UniPC order must be 1, 2 or 3.");
        if (!Enum.IsDefined(variant)) throw new ArgumentOutOfRangeException(nameof(variant), variant, "Unknown UniPC variant.");
        Order = order;
        Variant = variant;
        LowerOrderFinal = lowerOrderFinal;
        _disabledCorrectors = disableCorrector?.ToArray() ?? [];
    }

    /// <summary>The predictor order p.</summary>
    public int Order { get; }

    /// <summary>The function B(h).</summary>
    public UniPcVariant Variant { get; }

    /// <summary>Whether the predictor order is capped by the number of remaining steps.</summary>
    public bool LowerOrderFinal { get; }

    /// <summary>Step indices whose result is not corrected.</summary>
    public IReadOnlyList<int> DisableCorrector => _disabledCorrectors;

    /// <inheritdoc />
    public string Name => "unipc";

    /// <inheritdoc />
    public int ModelEvaluations(int timestepCount) => timestepCount;

    /// <inheritdoc />
    public void Sample(SamplingContext context, Span<float> x)
    {
        ArgumentNullException.ThrowIfNull(context);
        int n = x.Length;
        var history = new float[Order][]; // x_0 estimates at the visited points, index 0 the newest
        for (int i = 0; i < Order; i++) history[i] = new float[n];
        var lambdas = new double[Order];
        var model = new float[n];
        var eps = new float[n];
        var lastSample = new float[n];
        var timesteps = context.Timesteps;
        int count = timesteps.Count, lastOrder = 0;
        double lastAlphaBar = 0;
        for (int k = 0; k < count; k++)
        {
            int t = timesteps[k], s = context.TargetOf(k);
            double alphaBar = context.Schedule.AlphaBarAt(t);
            context.Denoise(x, t, model, eps);
            if (k > 0 && Array.IndexOf(_disabledCorrectors, k - 1) < 0 && s >= 0)
            {
                // UniC-p at the new point, from the sample before the predictor and the model output at the predicted point
                // (Zhao et al. 2023, sec. 3.1). Skipped before the final step to sigma = 0, whose result does not depend on it.
                Update(x, lastSample, lastAlphaBar, alphaBar, history, lambdas, lastOrder, model, Variant);
            }
            var (_, _, lambda) = MultistepMath.Vp(alphaBar);
            MultistepMath.Push(history, lambdas, lambda);
            model.CopyTo(history[0]);
            if (s < 0)
            {
                history[0].CopyTo(x); // last step, to sigma = 0 (lambda = +inf): the first-order update is the x_0 estimate
                continue;
            }
            int p = LowerOrderFinal ? Math.Min(Order, count - k) : Order;
            p = Math.Min(p, k + 1); // warm-up
            x.CopyTo(lastSample);
            lastAlphaBar = alphaBar;
            lastOrder = p;
            // UniP-p from x_s to x_t (Zhao et al. 2023, sec. 3.2, data-prediction form)
            Update(x, lastSample, alphaBar, context.Schedule.AlphaBarAt(s), history, lambdas, p, null, Variant);
        }
    }

    /// <summary>
    /// One UniP-p (<paramref name="modelAtTarget"/> null) or UniC-p step from <paramref name="source"/> at alpha-bar
    /// <paramref name="alphaBarS"/> to alpha-bar <paramref name="alphaBarT"/>, written to <paramref name="x"/>:
    /// x_t = (sigma_t / sigma_s) x_s - alpha_t (e^-h - 1) m_0 - alpha_t B(-h) sum_m a_m D_m, with D_m = (m_m - m_0) / r_m and
    /// r_m = (lambda_m - lambda_s) / h (Zhao et al. 2023, sec. 3.1-3.2 and App., data prediction, where the paper's h is -h here).
    /// </summary>
    private static void Update(Span<float> x, ReadOnlySpan<float> source, double alphaBarS, double alphaBarT, float[][] history,
        double[] lambdas, int order, float[]? modelAtTarget, UniPcVariant variant)
    {
        var (_, sigmaS, lambdaS) = MultistepMath.Vp(alphaBarS);
        var (alphaT, sigmaT, lambdaT) = MultistepMath.Vp(alphaBarT);
        double h = lambdaT - lambdaS, hh = -h; // data prediction integrates in -lambda
        double hPhi1 = MultistepMath.ExpM1(hh); // h phi_1(h) = e^h - 1
        double bh = variant == UniPcVariant.Bh1 ? hh : hPhi1; // B(h) = h or e^h - 1 (Zhao et al. 2023, sec. 3.1)

        // r_m for the older points, then 1 for the new point of the corrector (Zhao et al. 2023, sec. 3.1)
        int older = order - 1;
        var r = new double[order];
        for (int m = 0; m < older; m++) r[m] = (lambdas[m + 1] - lambdaS) / h;
        r[older] = 1;

        // g_i = h phi_{i+1}(h) i! / B(h) with phi_{k+1}(h) = (phi_k(h) - 1/k!) / h   (Zhao et al. 2023, sec. 3.1, R_p a_p = g_p / B(h))
        var g = new double[order];
        double hPhiK = hPhi1 / hh - 1, factorial = 1;
        for (int i = 1; i <= order; i++)
        {
            g[i - 1] = hPhiK * factorial / bh;
            factorial *= i + 1;
            hPhiK = hPhiK / hh - 1 / factorial;
        }

        // Coefficients a: solve sum_m a_m r_m^(i-1) = g_i (Zhao et al. 2023, sec. 3.1); diffusers' simplifications kept: a = 1/2 for
        // UniP-2 and UniC-1 (the h -> 0 limit of the exact value).
        double[] a;
        bool corrector = modelAtTarget is not null;
        int unknowns = corrector ? order : older;
        if (unknowns == 0) a = [];
        else if ((corrector && order == 1) || (!corrector && order == 2)) a = [0.5];
        else
        {
            var matrix = new double[unknowns, unknowns];
            var rhs = new double[unknowns];
            for (int i = 0; i < unknowns; i++)
            {
                rhs[i] = g[i];
                for (int m = 0; m < unknowns; m++) matrix[i, m] = Math.Pow(r[m], i);
            }
            a = MultistepMath.Solve(matrix, rhs);
        }

        double cx = sigmaT / sigmaS, c0 = -alphaT * hPhi1, cd = -alphaT * bh;
        float[] m0 = history[0];
        for (int i = 0; i < x.Length; i++)
        {
            double sum = 0;
            for (int m = 0; m < older; m++) sum += a[m] * (history[m + 1][i] - m0[i]) / r[m];
            if (corrector) sum += a[older] * (modelAtTarget![i] - m0[i]); // D at the new point, r = 1
            x[i] = (float)(cx * source[i] + c0 * m0[i] + cd * sum);
        }
    }
}
