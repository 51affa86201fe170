namespace Diffusion.ML.Sampling;

/// <summary>
/// The multistep loop shared by <see cref="DpmSolverPlusPlusSampler"/> and <see cref="SdeDpmSolverPlusPlusSampler"/>:
/// data-prediction updates in lambda = log(alpha / sigma), with the step-order rules of diffusers'
/// <c>DPMSolverMultistepScheduler</c> (warm-up with lower orders, <c>lower_order_final</c>, <c>final_sigmas_type="zero"</c>).
/// </summary>
internal static class DpmSolverMultistep
{
    public static void Run(SamplingContext context, Span<float> x, int order, bool lowerOrderFinal, DpmSolverType solverType, bool stochastic)
    {
        ArgumentNullException.ThrowIfNull(context);
        int n = x.Length;
        var history = new float[order][]; // x_0 estimates, index 0 the newest
        for (int i = 0; i < order; i++) history[i] = new float[n];
        var lambdas = new double[order];
        var eps = new float[n];
        var noise = stochastic ? new float[n] : [];
        var timesteps = context.Timesteps;
        int count = timesteps.Count;
        for (int k = 0; k < count; k++)
        {
            int t = timesteps[k], s = context.TargetOf(k);
            var (_, sigmaS, lambdaS) = MultistepMath.Vp(context.Schedule.AlphaBarAt(t));
            MultistepMath.Push(history, lambdas, lambdaS);
            context.Denoise(x, t, history[0], eps);
            if (s < 0)
            {
                // Last step, to sigma = 0 (lambda = +inf): always first order, where both the ODE and the SDE update reduce to
                // x = x_0 estimate (diffusers with final_sigmas_type="zero").
                history[0].CopyTo(x);
                continue;
            }
            var (alphaT, sigmaT, lambdaT) = MultistepMath.Vp(context.Schedule.AlphaBarAt(s));
            int p = Math.Min(order, k + 1); // warm-up: the first steps have too little history
            if (lowerOrderFinal && count < 15 && k == count - 2) p = Math.Min(p, 2);
            double h = lambdaT - lambdaS;
            double r0 = p >= 2 ? (lambdaS - lambdas[1]) / h : 0, r1 = p >= 3 ? (lambdas[1] - lambdas[2]) / h : 0;
            if (stochastic) context.DrawNoise(noise);
            if (stochastic) SdeStep(x, history, p, solverType, h, r0, r1, alphaT, sigmaT, sigmaS, noise);
            else OdeStep(x, history, p, solverType, h, r0, r1, alphaT, sigmaT, sigmaS);
        }
    }

    private static void OdeStep(Span<float> x, float[][] m, int p, DpmSolverType solverType, double h, double r0, double r1,
        double alphaT, double sigmaT, double sigmaS)
    {
        double phi1 = MultistepMath.ExpM1(-h); // e^-h - 1
        double cx = sigmaT / sigmaS, c0 = -alphaT * phi1;
        // Weight of D1: midpoint -alpha_t (e^-h - 1) / 2 (Lu et al. 2022, Alg. 2), or the exact integral of the linear term,
        // alpha_t ((e^-h - 1) / h + 1) (Lu et al. 2022, sec. 4.1, Taylor expansion of x_0 in lambda), which 3M always uses.
        double c1 = solverType == DpmSolverType.Midpoint && p == 2 ? -0.5 * alphaT * phi1 : alphaT * (phi1 / h + 1);
        // Weight of D2: the exact integral of the quadratic term, -alpha_t ((e^-h - 1 + h) / h^2 - 1/2) (same expansion).
        double c2 = -alphaT * ((phi1 + h) / (h * h) - 0.5);
        for (int i = 0; i < x.Length; i++)
        {
            // DPM-Solver++(1): x_t = (sigma_t / sigma_s) x_s - alpha_t (e^-h - 1) x_0(x_s), which is DDIM   (Lu et al. 2022, sec. 4.1)
            double v = cx * x[i] + c0 * m[0][i];
            if (p == 2)
                v += c1 * (m[0][i] - m[1][i]) / r0; // DPM-Solver++(2M): D1 = (x_0,i - x_0,i-1) / r   (Lu et al. 2022, Alg. 2)
            else if (p == 3)
            {
                // DPM-Solver++(3M): D1, D2 from two backward differences in lambda (Lu et al. 2022, sec. 4.2 and its reference code)
                double d10 = (m[0][i] - m[1][i]) / r0, d11 = (m[1][i] - m[2][i]) / r1;
                double d1 = d10 + r0 / (r0 + r1) * (d10 - d11), d2 = (d10 - d11) / (r0 + r1);
                v += c1 * d1 + c2 * d2;
            }
            x[i] = (float)v;
        }
    }

    private static void SdeStep(Span<float> x, float[][] m, int p, DpmSolverType solverType, double h, double r0, double r1,
        double alphaT, double sigmaT, double sigmaS, ReadOnlySpan<float> noise)
    {
        double oneMinusE2h = -MultistepMath.ExpM1(-2 * h); // 1 - e^-2h
        double cx = sigmaT / sigmaS * Math.Exp(-h), c0 = alphaT * oneMinusE2h, cz = sigmaT * Math.Sqrt(oneMinusE2h);
        double c1 = solverType == DpmSolverType.Midpoint ? 0.5 * alphaT * oneMinusE2h : alphaT * (oneMinusE2h / (-2 * h) + 1);
        for (int i = 0; i < x.Length; i++)
        {
            // SDE-DPM-Solver++(1): x_t = (sigma_t / sigma_s) e^-h x_s + alpha_t (1 - e^-2h) x_0 + sigma_t sqrt(1 - e^-2h) z, the
            // exact solution of the data-prediction reverse SDE with x_0 frozen (Lu et al. 2022, reference code); = DDIM with eta = 1
            double v = cx * x[i] + c0 * m[0][i] + cz * noise[i];
            // SDE-DPM-Solver++(2M): + c1 D1 with D1 = (x_0,i - x_0,i-1) / r   (Lu et al. 2022, reference code; diffusers "sde-dpmsolver++")
            if (p >= 2) v += c1 * (m[0][i] - m[1][i]) / r0;
            x[i] = (float)v;
        }
    }
}
