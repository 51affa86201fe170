using Diffusion.ML.Sampling;

namespace Diffusion.ML.ScoreSde;

/// <summary>The predictor of a <see cref="PredictorCorrectorSampler"/>.</summary>
public enum SdePredictor
{
    /// <summary>
    /// Reverse diffusion (Song et al. 2021, eq. 46-47): the reverse of the forward SDE's own discretisation
    /// x_t = a x_s + sqrt(b) z, x_s = (2 - a) x_t + b s(x_t, t) + sqrt(b) z.
    /// </summary>
    ReverseDiffusion,

    /// <summary>Euler-Maruyama on the reverse SDE, as <see cref="EulerMaruyamaSdeSampler"/>.</summary>
    EulerMaruyama,
}

/// <summary>
/// Predictor-corrector sampling (Song et al. 2021, sec. 4.2, Alg. 1, 4 and 5): at each grid time t_k, first
/// <see cref="CorrectorSteps"/> steps of Langevin MCMC at t_k, then one predictor step to t_(k+1).
/// <para>
/// Corrector (Alg. 4 / 5): x = x + e s(x, t) + sqrt(2 e) z with step size e = 2 alpha (r ||z|| / ||s||)^2, r the
/// signal-to-noise ratio <see cref="Snr"/> and alpha = (m(t_k) / m(t_(k+1)))^2 (the alpha_i = 1 - beta_i of Alg. 5 for VP;
/// 1 for VE, Alg. 4). The norms are taken per sample (the paper's code averages them over the batch), so a sample does not
/// depend on its batch.
/// </para>
/// <para>
/// Predictor (<see cref="SdePredictor"/>): reverse diffusion, with a = m(t_k) / m(t_(k+1)) and
/// b = std(t_k)^2 - a^2 std(t_(k+1))^2 the exact one-step transition of the forward SDE from t_(k+1) to t_k (for VP
/// b = beta_i and a = sqrt(1 - beta_i) as in the paper; for VE a = 1, b = sigma_k^2 - sigma_(k+1)^2, SMLD's), or
/// Euler-Maruyama. The last predictor step adds no noise (the paper's "denoise" / x_mean output).
/// </para>
/// <para>
/// Grid: as <see cref="EulerMaruyamaSdeSampler"/>, N = <see cref="SamplingContext.Timesteps"/>.Count uniform steps from
/// t = 1 down to <see cref="EndTime"/>. N (1 + <see cref="CorrectorSteps"/>) model evaluations.
/// </para>
/// </summary>
public sealed class PredictorCorrectorSampler : ISampler
{
    /// <summary>Creates the sampler.</summary>
    /// <param name="predictor">The predictor. Default reverse diffusion (the paper's PC default).</param>
    /// <param name="correctorSteps">Langevin steps per grid time (M of Alg. 4/5, &gt;= 0). Default 1.</param>
    /// <param name="snr">Signal-to-noise ratio r of the corrector (&gt; 0). Default 0.16 (the paper's CIFAR-10 value).</param>
    /// <param name="sde">The SDE; null (default) uses <see cref="ScheduleVpSde"/> of the context's schedule.</param>
    /// <param name="endTime">The time the last step lands on, in [0, 1). Default 0 (the clean sample).</param>
    public PredictorCorrectorSampler(SdePredictor predictor = SdePredictor.ReverseDiffusion, int correctorSteps = 1, double snr = 0.16,
        Sde? sde = null, double endTime = 0)
    {
        if (!Enum.IsDefined(predictor)) throw new ArgumentOutOfRangeException(nameof(predictor), predictor, "Unknown predictor.");
        ArgumentOutOfRangeException.ThrowIfNegative(correctorSteps);
        if (!(snr > 0) || double.IsInfinity(snr)) throw new ArgumentOutOfRangeException(nameof(snr), snr, "The signal-to-noise ratio must be positive and finite.");
        if (!(endTime >= 0 && endTime < 1)) throw new ArgumentOutOfRangeException(nameof(endTime), endTime, "The end time must lie in [0, 1).");
        Predictor = predictor;
        CorrectorSteps = correctorSteps;
        Snr = snr;
        Sde = sde;
        EndTime = endTime;
    }

    /// <summary>The predictor.</summary>
    public SdePredictor Predictor { get; }

    /// <summary>Langevin corrector steps per grid time.</summary>
    public int CorrectorSteps { get; }

    /// <summary>The corrector's signal-to-noise ratio r.</summary>
    public double Snr { get; }

    /// <summary>The SDE, or null for the context schedule's <see cref="ScheduleVpSde"/>.</summary>
    public Sde? Sde { get; }

    /// <summary>The time the last (noise-free) predictor step lands on.</summary>
    public double EndTime { get; }

    /// <inheritdoc />
    public string Name => "sde-pc";

    /// <inheritdoc />
    public int ModelEvaluations(int timestepCount) => Math.Max(timestepCount, 0) * (1 + CorrectorSteps);

    /// <inheritdoc />
    public void Sample(SamplingContext context, Span<float> x)
    {
        ArgumentNullException.ThrowIfNull(context);
        var model = new SdeModel(context, Sde);
        Sde sde = model.Sde;
        int steps = context.Timesteps.Count, n = x.Length, d = context.SampleSize;
        double[] state = model.InitialState(x);
        var score = new double[n];
        var noise = new float[n];
        for (int k = 0; k < steps; k++)
        {
            double t = SdeModel.GridTime(k, steps, EndTime), next = SdeModel.GridTime(k + 1, steps, EndTime);
            double a = sde.MeanCoefficient(t) / sde.MeanCoefficient(next);
            double stdT = sde.MarginalStd(t), stdNext = sde.MarginalStd(next);
            // Corrector: Langevin dynamics at t (Song et al. 2021, Alg. 4 (VE) and 5 (VP), lines 6-9).
            for (int j = 0; j < CorrectorSteps; j++)
            {
                model.Score(state, t, score);
                context.DrawNoise(noise);
                for (int b = 0; b < context.BatchSize; b++)
                {
                    double scoreNorm = 0, noiseNorm = 0;
                    for (int i = b * d; i < (b + 1) * d; i++)
                    {
                        scoreNorm += score[i] * score[i];
                        noiseNorm += (double)noise[i] * noise[i];
                    }
                    if (scoreNorm == 0) continue;
                    // e = 2 alpha (r ||z|| / ||s||)^2   (Alg. 5, line 7)
                    double step = 2 * a * a * Snr * Snr * noiseNorm / scoreNorm, noiseScale = Math.Sqrt(2 * step);
                    for (int i = b * d; i < (b + 1) * d; i++) state[i] += step * score[i] + noiseScale * noise[i];
                }
            }
            // Predictor step from t to next.
            model.Score(state, t, score);
            bool lastStep = k == steps - 1;
            if (!lastStep) context.DrawNoise(noise);
            if (Predictor == SdePredictor.ReverseDiffusion)
            {
                // x_s = (2 - a) x + b s(x, t) + sqrt(b) z, with x_t = a x_s + sqrt(b) z the forward step   (Song et al. 2021, eq. 46-47)
                double var = Math.Max(stdT * stdT - a * a * stdNext * stdNext, 0), noiseScale = Math.Sqrt(var);
                for (int i = 0; i < n; i++)
                {
                    state[i] = (2 - a) * state[i] + var * score[i];
                    if (!lastStep) state[i] += noiseScale * noise[i];
                }
            }
            else
            {
                double dt = t - next, f = sde.DriftCoefficient(t), g = sde.Diffusion(t), noiseScale = g * Math.Sqrt(dt);
                for (int i = 0; i < n; i++)
                {
                    // x - [f x - g^2 s] dt + g sqrt(dt) z   (Song et al. 2021, eq. 6)
                    state[i] -= (f * state[i] - g * g * score[i]) * dt;
                    if (!lastStep) state[i] += noiseScale * noise[i];
                }
            }
        }
        for (int i = 0; i < n; i++) x[i] = (float)state[i];
    }
}
