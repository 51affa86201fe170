using Diffusion.ML.Sampling;
using Diffusion.ML.Schedules;
using TorchSharp;
using static TorchSharp.torch;

namespace Diffusion.ML.TorchSharp.Training;

/// <summary>
/// The variational-bound term L_t of a network that learns its variance (Nichol and Dhariwal 2021, sec. 3.1), for the
/// hybrid objective L_hybrid = L_simple + lambda L_vlb: per sample, KL(q(x_{t-1} | x_t, x_0) || p(x_{t-1} | x_t)) for
/// t &gt; 0 and the discretised Gaussian decoder's -log p(x_0 | x_1) for t = 0 (Ho et al. 2020, eq. 13), both in bits per
/// dimension. The model's mean enters with its gradient stopped, so this term trains only the variance; p's log variance
/// is f log beta_t + (1 - f) log beta-tilde_t with f = (v + 1) / 2 (eq. 15).
/// </summary>
public sealed class VariationalBoundTerm : IDisposable
{
    private readonly Tensor _sqrtAlphaBar, _sqrtOneMinusAlphaBar, _meanCoef1, _meanCoef2, _logBeta, _logBetaTilde;

    /// <summary>Creates the term for a schedule, with its tables on <paramref name="device"/>.</summary>
    public VariationalBoundTerm(NoiseSchedule schedule, PredictionType predictionType, Device device)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        PredictionType = predictionType;
        Tensor Table(IEnumerable<double> values) => tensor(values.Select(v => (float)v).ToArray(), device: device);
        _sqrtAlphaBar = Table(schedule.SqrtAlphaBar);
        _sqrtOneMinusAlphaBar = Table(schedule.SqrtOneMinusAlphaBar);
        _meanCoef1 = Table(schedule.PosteriorMeanCoef1);
        _meanCoef2 = Table(schedule.PosteriorMeanCoef2);
        _logBeta = Table(schedule.Betas.Select(Math.Log));
        _logBetaTilde = Table(schedule.PosteriorLogVarianceClipped);
    }

    /// <summary>What the network's first half of channels predicts.</summary>
    public PredictionType PredictionType { get; }

    /// <summary>L_t per sample in bits per dimension, <c>[B]</c>.</summary>
    /// <param name="prediction">The network's prediction (eps, v or x_0), <c>[B, C, ...]</c>; its gradient is stopped here.</param>
    /// <param name="varianceValues">The network's variance values v, shaped like <paramref name="prediction"/>.</param>
    /// <param name="x0">Clean samples in [-1, 1].</param>
    /// <param name="xt">Noisy samples.</param>
    /// <param name="timesteps">int64 <c>[B]</c>.</param>
    public Tensor Compute(Tensor prediction, Tensor varianceValues, Tensor x0, Tensor xt, Tensor timesteps)
    {
        using var scope = NewDisposeScope();
        var frozen = prediction.detach();
        var sqrtAbar = Extract(_sqrtAlphaBar, timesteps, xt);
        var sqrtOneMinusAbar = Extract(_sqrtOneMinusAlphaBar, timesteps, xt);
        var x0Estimate = PredictionType switch
        {
            PredictionType.Epsilon => (xt - sqrtOneMinusAbar * frozen) / sqrtAbar,   // Ho et al. 2020, eq. 15
            PredictionType.VPrediction => sqrtAbar * xt - sqrtOneMinusAbar * frozen,  // Salimans and Ho 2022
            _ => frozen,
        };
        var coef1 = Extract(_meanCoef1, timesteps, xt);
        var coef2 = Extract(_meanCoef2, timesteps, xt);
        var trueMean = coef1 * x0 + coef2 * xt;                 // mu~_t(x_t, x_0), Ho et al. 2020, eq. 7
        var trueLogVariance = Extract(_logBetaTilde, timesteps, xt);
        var modelMean = coef1 * x0Estimate + coef2 * xt;
        var fraction = (varianceValues + 1) / 2;
        var modelLogVariance = fraction * Extract(_logBeta, timesteps, xt) + (1 - fraction) * trueLogVariance; // eq. 15

        var kl = GaussianKl(trueMean, trueLogVariance, modelMean, modelLogVariance);
        var decoderNll = -DiscretizedGaussianLogLikelihood(x0, modelMean, 0.5 * modelLogVariance);
        var perElement = where(IsFirstStep(timesteps, xt), decoderNll, kl);
        return (perElement.flatten(1).mean([1]) / Math.Log(2)).MoveToOuterDisposeScope();
    }

    /// <summary>KL(N(m1, e^{lv1}) || N(m2, e^{lv2})) elementwise, in nats.</summary>
    private static Tensor GaussianKl(Tensor mean1, Tensor logVariance1, Tensor mean2, Tensor logVariance2) =>
        0.5 * (-1.0 + logVariance2 - logVariance1 + (logVariance1 - logVariance2).exp() + (mean1 - mean2).square() * (-logVariance2).exp());

    /// <summary>
    /// log of the probability mass of x's 8-bit bin [x - 1/255, x + 1/255] under N(mean, e^{2 logScale}), with the edge bins
    /// extended to infinity (Ho et al. 2020, eq. 13), elementwise. Masses are floored at 1e-12 as in the reference code (a
    /// bounded gradient far in the tails), so it agrees with the exact <see cref="Diffusion.ML.Evaluation.DiffusionLikelihood"/> wherever
    /// the mass exceeds 1e-12.
    /// </summary>
    private static Tensor DiscretizedGaussianLogLikelihood(Tensor x, Tensor mean, Tensor logScale)
    {
        var centered = x - mean;
        var inverseScale = (-logScale).exp();
        var cdfPlus = special.ndtr(inverseScale * (centered + 1.0 / 255));
        var cdfMinus = special.ndtr(inverseScale * (centered - 1.0 / 255));
        var logCdfPlus = cdfPlus.clamp_min(1e-12).log();
        var logOneMinusCdfMinus = (1 - cdfMinus).clamp_min(1e-12).log();
        var logDelta = (cdfPlus - cdfMinus).clamp_min(1e-12).log();
        return where(x < -0.999, logCdfPlus, where(x > 0.999, logOneMinusCdfMinus, logDelta));
    }

    /// <summary>Whether each sample's timestep is 0, shaped to broadcast over <paramref name="like"/>.</summary>
    private static Tensor IsFirstStep(Tensor timesteps, Tensor like) => DiffusionLoss.PerSample(timesteps, like) == 0;

    private static Tensor Extract(Tensor table, Tensor timesteps, Tensor like) => DiffusionLoss.Extract(table, timesteps, like);

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var t in new[] { _sqrtAlphaBar, _sqrtOneMinusAlphaBar, _meanCoef1, _meanCoef2, _logBeta, _logBetaTilde }) t.Dispose();
    }
}
