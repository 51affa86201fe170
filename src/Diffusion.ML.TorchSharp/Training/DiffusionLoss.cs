using Diffusion.ML.Sampling;
using Diffusion.ML.Schedules;
using Diffusion.ML.TorchSharp.Modules;
using TorchSharp;
using static TorchSharp.torch;

namespace Diffusion.ML.TorchSharp.Training;

/// <summary>
/// The DDPM training objective: x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps (Ho et al. 2020, eq. 4), a regression
/// target chosen by the prediction type, and mean squared error, optionally weighted by min-SNR-gamma.
/// </summary>
public sealed class DiffusionLoss : IDisposable
{
    private readonly Tensor _sqrtAlphaBar;
    private readonly Tensor _sqrtOneMinusAlphaBar;
    private readonly Tensor _snr;

    /// <summary>Creates the loss for a schedule, with its tables on <paramref name="device"/>.</summary>
    public DiffusionLoss(NoiseSchedule schedule, PredictionType predictionType, double? minSnrGamma, Device device)
    {
        PredictionType = predictionType;
        MinSnrGamma = minSnrGamma;
        _sqrtAlphaBar = tensor(schedule.SqrtAlphaBar.ToArray(), dtype: ScalarType.Float32, device: device);
        _sqrtOneMinusAlphaBar = tensor(schedule.SqrtOneMinusAlphaBar.ToArray(), dtype: ScalarType.Float32, device: device);
        _snr = tensor(schedule.Snr.ToArray(), dtype: ScalarType.Float32, device: device);
    }

    /// <summary>What the network is trained to predict.</summary>
    public PredictionType PredictionType { get; }

    /// <summary>The min-SNR gamma, or null for unweighted MSE.</summary>
    public double? MinSnrGamma { get; }

    /// <summary>x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps, the q_sample of Ho et al. 2020, eq. 4.</summary>
    /// <param name="x0">Clean batch [B, ...].</param>
    /// <param name="timesteps">int64 [B].</param>
    /// <param name="noise">eps, shaped like x0.</param>
    public Tensor AddNoise(Tensor x0, Tensor timesteps, Tensor noise)
        => Layers.Add(Extract(_sqrtAlphaBar, timesteps, x0) * x0, Extract(_sqrtOneMinusAlphaBar, timesteps, x0) * noise);

    /// <summary>The regression target: eps, v = sqrt(abar) eps - sqrt(1 - abar) x_0 (Salimans and Ho 2022), or x_0.</summary>
    public Tensor Target(Tensor x0, Tensor timesteps, Tensor noise) => PredictionType switch
    {
        PredictionType.Epsilon => noise.alias(),
        PredictionType.Sample => x0.alias(),
        PredictionType.VPrediction => Extract(_sqrtAlphaBar, timesteps, x0) * noise - Extract(_sqrtOneMinusAlphaBar, timesteps, x0) * x0,
        _ => throw new InvalidOperationException($"Unknown prediction type {PredictionType}."),
    };

    /// <summary>
    /// Per-sample loss weights. Min-SNR-gamma (Hang et al. 2023) weights the x_0 error by min(SNR, gamma); in terms of the
    /// trained target that is min(SNR, gamma) / SNR for eps, min(SNR, gamma) / (SNR + 1) for v, and min(SNR, gamma) for x_0.
    /// Returns null when no weighting is configured.
    /// </summary>
    public Tensor? Weights(Tensor timesteps)
    {
        if (MinSnrGamma is not { } gamma) return null;
        var snr = _snr.index_select(0, timesteps);
        using var gammaScalar = gamma.ToScalar();
        var clipped = snr.clamp_max(gammaScalar);
        return PredictionType switch
        {
            PredictionType.Epsilon => clipped / snr,
            PredictionType.VPrediction => clipped / Layers.OnePlus(snr),
            _ => clipped,
        };
    }

    /// <summary>The (weighted) mean squared error of a prediction against its target, averaged over the batch.</summary>
    public Tensor Compute(Tensor prediction, Tensor target, Tensor timesteps)
    {
        var perSample = (prediction - target).square().flatten(1).mean([1]);
        var weights = Weights(timesteps);
        return (weights is null ? perSample : perSample * weights).mean();
    }

    /// <summary>Gathers one coefficient per batch element and shapes it to broadcast over <paramref name="like"/> (lucidrains' <c>extract</c>).</summary>
    internal static Tensor Extract(Tensor table, Tensor timesteps, Tensor like) => PerSample(table.index_select(0, timesteps), like);

    /// <summary>Shapes one value per batch element, <c>[B]</c>, to broadcast over <paramref name="like"/> <c>[B, ...]</c>.</summary>
    internal static Tensor PerSample(Tensor values, Tensor like)
    {
        var shape = new long[like.dim()];
        Array.Fill(shape, 1L);
        shape[0] = like.shape[0];
        return values.reshape(shape);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _sqrtAlphaBar.Dispose();
        _sqrtOneMinusAlphaBar.Dispose();
        _snr.Dispose();
    }
}
