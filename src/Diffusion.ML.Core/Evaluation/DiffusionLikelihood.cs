using Diffusion.ML.Sampling;
using Diffusion.ML.Schedules;

namespace Diffusion.ML.Evaluation;

/// <summary>
/// The closed-form terms of the DDPM variational bound L = L_T + sum_{t=2..T} L_{t-1} + L_0 (Ho et al. 2020, eq. 5), in nats
/// summed over the dimensions of one sample. Timestep indices are 0-based (index t is the paper's step t + 1), as in
/// <see cref="NoiseSchedule"/>. Formulas follow Ho et al.'s code (diffusion_utils_2.py): <c>normal_kl</c>,
/// <c>discretized_gaussian_log_likelihood</c> and the clipped log variances.
/// </summary>
public static class DiffusionLikelihood
{
    /// <summary>Half-width of an 8-bit bin on the [-1, 1] data scale, 1/255 (Ho et al. 2020, eq. 13).</summary>
    public const double HalfBinWidth = 1.0 / 255;

    /// <summary>KL(N(mean1, exp(logVariance1)) || N(mean2, exp(logVariance2))) for one coordinate, in nats (Ho et al. 2020 code, <c>normal_kl</c>).</summary>
    public static double GaussianKl(double mean1, double logVariance1, double mean2, double logVariance2) =>
        0.5 * (-1 + logVariance2 - logVariance1 + Math.Exp(logVariance1 - logVariance2)
               + (mean1 - mean2) * (mean1 - mean2) * Math.Exp(-logVariance2));

    /// <summary>
    /// The log variance of the reverse step p(x_{t-1} | x_t) at 0-based index <paramref name="t"/> (Ho et al. 2020, sec. 3.2):
    /// fixed-small is log beta-tilde with index 0 clipped to index 1 (<see cref="NoiseSchedule.PosteriorLogVarianceClipped"/>);
    /// fixed-large is log(append(beta-tilde_1, betas[1:])) as in Ho et al.'s code, i.e. beta_t except at index 0.
    /// </summary>
    public static double ModelLogVariance(NoiseSchedule schedule, int t, DdpmVarianceType varianceType)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        ArgumentOutOfRangeException.ThrowIfNegative(t);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(t, schedule.NumTrainTimesteps);
        return varianceType switch
        {
            DdpmVarianceType.FixedSmall => schedule.PosteriorLogVarianceClipped[t],
            DdpmVarianceType.FixedLarge => Math.Log(t == 0 ? schedule.PosteriorVariance[Math.Min(1, schedule.NumTrainTimesteps - 1)] : schedule.Betas[t]),
            DdpmVarianceType.Learned => throw new ArgumentException("A learned variance is the model's, per coordinate: use LearnedLogVariance.", nameof(varianceType)),
            _ => throw new ArgumentOutOfRangeException(nameof(varianceType), varianceType, "Unknown variance type."),
        };
    }

    /// <summary>
    /// The learned log variance of the reverse step at 0-based index <paramref name="t"/> (Nichol and Dhariwal 2021, eq. 15):
    /// f log beta_t + (1 - f) log beta-tilde_t (clipped at index 0, as <see cref="NoiseSchedule.PosteriorLogVarianceClipped"/>)
    /// with f = (v + 1) / 2 for the model's variance value <paramref name="v"/>.
    /// </summary>
    public static double LearnedLogVariance(NoiseSchedule schedule, int t, double v)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        double f = (v + 1) / 2;
        return f * Math.Log(schedule.Betas[t]) + (1 - f) * schedule.PosteriorLogVarianceClipped[t];
    }

    /// <summary>
    /// <see cref="DiffusionTermNats(NoiseSchedule, int, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, DdpmVarianceType)"/>
    /// with the model's learned variance: one value v per coordinate (<see cref="LearnedLogVariance"/>).
    /// </summary>
    public static double DiffusionTermNats(NoiseSchedule schedule, int t, ReadOnlySpan<float> x0, ReadOnlySpan<float> xt,
        ReadOnlySpan<float> x0Estimate, ReadOnlySpan<float> varianceValues)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        if (t < 1 || t >= schedule.NumTrainTimesteps)
            throw new ArgumentOutOfRangeException(nameof(t), t, $"A diffusion term needs 1 <= t < {schedule.NumTrainTimesteps}; t = 0 is the decoder.");
        CheckLengths(x0, xt, x0Estimate);
        CheckLengths(x0, xt, varianceValues);
        double c1 = schedule.PosteriorMeanCoef1[t], c2 = schedule.PosteriorMeanCoef2[t], logVarQ = schedule.PosteriorLogVarianceClipped[t];
        double sum = 0;
        for (int i = 0; i < x0.Length; i++)
            sum += GaussianKl(c1 * x0[i] + c2 * xt[i], logVarQ, c1 * x0Estimate[i] + c2 * xt[i], LearnedLogVariance(schedule, t, varianceValues[i]));
        return sum;
    }

    /// <summary>
    /// <see cref="DecoderNats(NoiseSchedule, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, DecoderVariance)"/> with the
    /// model's learned variance at index 0: one value v per coordinate (<see cref="LearnedLogVariance"/>).
    /// </summary>
    public static double DecoderNats(NoiseSchedule schedule, ReadOnlySpan<float> x0, ReadOnlySpan<float> x1, ReadOnlySpan<float> x0Estimate,
        ReadOnlySpan<float> varianceValues)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        CheckLengths(x0, x1, x0Estimate);
        CheckLengths(x0, x1, varianceValues);
        double c1 = schedule.PosteriorMeanCoef1[0], c2 = schedule.PosteriorMeanCoef2[0];
        double sum = 0;
        for (int i = 0; i < x0.Length; i++)
            sum -= DiscretizedGaussianLogLikelihood(SnapToGrid(x0[i]), c1 * x0Estimate[i] + c2 * x1[i], 0.5 * LearnedLogVariance(schedule, 0, varianceValues[i]));
        return sum;
    }

    /// <summary>
    /// The prior term L_T = KL(q(x_T | x_0) || N(0, I)) with q(x_T | x_0) = N(sqrt(abar_T) x_0, (1 - abar_T) I) (Ho et al. 2020, eq. 4-5).
    /// </summary>
    /// <param name="schedule">The training schedule.</param>
    /// <param name="x0">One data sample.</param>
    /// <returns>L_T in nats, summed over the coordinates.</returns>
    public static double PriorNats(NoiseSchedule schedule, ReadOnlySpan<float> x0)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        int last = schedule.NumTrainTimesteps - 1;
        double logVar = schedule.LogOneMinusAlphaBar[last], sqrtAbar = schedule.SqrtAlphaBar[last];
        double sum = 0;
        foreach (float v in x0) sum += GaussianKl(sqrtAbar * v, logVar, 0, 0);
        return sum;
    }

    /// <summary>
    /// The diffusion term L_{t-1} = KL(q(x_{t-1} | x_t, x_0) || p(x_{t-1} | x_t)) at 0-based index t &gt;= 1, with the posterior
    /// q = N(coef1 x_0 + coef2 x_t, beta-tilde_t) (Ho et al. 2020, eq. 6-7) and the model p = N(coef1 x0_hat + coef2 x_t, sigma_t^2)
    /// (Ho et al. 2020, eq. 11 in its x_0 parameterisation).
    /// </summary>
    /// <param name="schedule">The training schedule.</param>
    /// <param name="t">0-based timestep index in [1, T).</param>
    /// <param name="x0">The data sample.</param>
    /// <param name="xt">The noisy sample x_t at index t.</param>
    /// <param name="x0Estimate">The model's x_0 estimate at (x_t, t).</param>
    /// <param name="varianceType">The reverse variance sigma_t^2.</param>
    /// <returns>The KL in nats, summed over the coordinates.</returns>
    public static double DiffusionTermNats(NoiseSchedule schedule, int t, ReadOnlySpan<float> x0, ReadOnlySpan<float> xt,
        ReadOnlySpan<float> x0Estimate, DdpmVarianceType varianceType)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        if (t < 1 || t >= schedule.NumTrainTimesteps)
            throw new ArgumentOutOfRangeException(nameof(t), t, $"A diffusion term needs 1 <= t < {schedule.NumTrainTimesteps}; t = 0 is the decoder.");
        CheckLengths(x0, xt, x0Estimate);
        double c1 = schedule.PosteriorMeanCoef1[t], c2 = schedule.PosteriorMeanCoef2[t];
        double logVarQ = schedule.PosteriorLogVarianceClipped[t], logVarP = ModelLogVariance(schedule, t, varianceType);
        // Per coordinate: 0.5 (-1 + logVarP - logVarQ + exp(logVarQ - logVarP)) + 0.5 (muQ - muP)^2 / sigmaP^2.
        double constant = 0.5 * (-1 + logVarP - logVarQ + Math.Exp(logVarQ - logVarP));
        double squares = 0;
        for (int i = 0; i < x0.Length; i++)
        {
            double muQ = c1 * x0[i] + c2 * xt[i], muP = c1 * x0Estimate[i] + c2 * xt[i];
            squares += (muQ - muP) * (muQ - muP);
        }
        return x0.Length * constant + 0.5 * squares * Math.Exp(-logVarP);
    }

    /// <summary>
    /// log P(x) of one coordinate under the discretised Gaussian decoder (Ho et al. 2020, eq. 13): the mass of
    /// N(mean, exp(logScale)^2) over the bin [x - 1/255, x + 1/255], with the first bin (x &lt; -0.999) extended to -inf and
    /// the last (x &gt; 0.999) to +inf, so the 256 bins of 8-bit data in [-1, 1] carry total mass 1.
    /// </summary>
    /// <param name="x">A data value on the 8-bit grid 2k/255 - 1.</param>
    /// <param name="mean">Decoder mean.</param>
    /// <param name="logScale">log of the decoder standard deviation.</param>
    /// <returns>The log-probability in nats (at most 0).</returns>
    public static double DiscretizedGaussianLogLikelihood(double x, double mean, double logScale)
    {
        double invStd = Math.Exp(-logScale);
        double lower = x < -0.999 ? double.NegativeInfinity : (x - HalfBinWidth - mean) * invStd;
        double upper = x > 0.999 ? double.PositiveInfinity : (x + HalfBinWidth - mean) * invStd;
        return SpecialFunctions.LogNormalProbability(lower, upper);
    }

    /// <summary>
    /// The decoder term L_0 = -log p(x_0 | x_1) (Ho et al. 2020, eq. 5 and 13), with decoder mean coef1 x0_hat + coef2 x_1 at
    /// index 0 (which is x0_hat) and the variance <paramref name="decoderVariance"/>.
    /// </summary>
    /// <param name="schedule">The training schedule.</param>
    /// <param name="x0">The data sample, on the 8-bit grid in [-1, 1]; each value is snapped to the nearest grid value 2k/255 - 1 in double precision.</param>
    /// <param name="x1">The noisy sample at index 0.</param>
    /// <param name="x0Estimate">The model's x_0 estimate at (x_1, 0).</param>
    /// <param name="decoderVariance">The decoder variance: Ho et al.'s clipped beta-tilde (the index-0 value of
    /// <see cref="ModelLogVariance"/> for both variance types) or beta_1.</param>
    /// <returns>-log p(x_0 | x_1) in nats, summed over the coordinates.</returns>
    public static double DecoderNats(NoiseSchedule schedule, ReadOnlySpan<float> x0, ReadOnlySpan<float> x1, ReadOnlySpan<float> x0Estimate,
        DecoderVariance decoderVariance = DecoderVariance.ClippedPosterior)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        CheckLengths(x0, x1, x0Estimate);
        double c1 = schedule.PosteriorMeanCoef1[0], c2 = schedule.PosteriorMeanCoef2[0];
        double logScale = 0.5 * decoderVariance switch
        {
            DecoderVariance.ClippedPosterior => schedule.PosteriorLogVarianceClipped[0],
            DecoderVariance.Beta => Math.Log(schedule.Betas[0]),
            _ => throw new ArgumentOutOfRangeException(nameof(decoderVariance), decoderVariance, "Unknown decoder variance."),
        };
        double sum = 0;
        for (int i = 0; i < x0.Length; i++)
            sum -= DiscretizedGaussianLogLikelihood(SnapToGrid(x0[i]), c1 * x0Estimate[i] + c2 * x1[i], logScale);
        return sum;
    }

    /// <summary>The nearest 8-bit grid value 2k/255 - 1 (k in 0..255) to <paramref name="x"/>, in double precision.</summary>
    public static double SnapToGrid(double x) => Math.Clamp(Math.Round((x + 1) * 127.5), 0, 255) / 127.5 - 1;

    private static void CheckLengths(ReadOnlySpan<float> x0, ReadOnlySpan<float> xt, ReadOnlySpan<float> x0Estimate)
    {
        if (xt.Length != x0.Length || x0Estimate.Length != x0.Length)
            throw new ArgumentException($"x0, x_t and the x_0 estimate need the same length, got {x0.Length}, {xt.Length} and {x0Estimate.Length}.");
    }
}
