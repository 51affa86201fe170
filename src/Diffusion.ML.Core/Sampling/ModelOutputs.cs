namespace Diffusion.ML.Sampling;

/// <summary>Turns a denoiser's raw output into the pair (x_0 estimate, eps estimate) that every sampler step uses.</summary>
public static class ModelOutputs
{
    /// <summary>
    /// Converts one sample's model output at alpha-bar <paramref name="alphaBar"/> into x_0 and eps estimates, using
    /// x_t = sqrt(abar) x_0 + sqrt(1 - abar) eps (Ho et al. 2020, eq. 4) and v = sqrt(abar) eps - sqrt(1 - abar) x_0
    /// (Salimans and Ho 2022, sec. 4).
    /// </summary>
    public static void ToSampleAndNoise(PredictionType type, double alphaBar, ReadOnlySpan<float> xt, ReadOnlySpan<float> output,
        Span<float> x0, Span<float> eps)
    {
        double a = Math.Sqrt(alphaBar), s = Math.Sqrt(1 - alphaBar);
        if (type == PredictionType.Epsilon && a == 0)
            throw new InvalidOperationException(
                "An epsilon-prediction model cannot recover x_0 at alpha-bar = 0 (zero terminal SNR). Train with v-prediction, " +
                "or do not rescale the schedule to zero terminal SNR.");
        for (int i = 0; i < xt.Length; i++)
        {
            switch (type)
            {
                case PredictionType.Epsilon:
                    eps[i] = output[i];
                    x0[i] = (float)((xt[i] - s * output[i]) / a);
                    break;
                case PredictionType.Sample:
                    x0[i] = output[i];
                    eps[i] = s == 0 ? 0f : (float)((xt[i] - a * output[i]) / s);
                    break;
                case PredictionType.VPrediction:
                    x0[i] = (float)(a * xt[i] - s * output[i]);
                    eps[i] = (float)(a * output[i] + s * xt[i]);
                    break;
                default:
                    throw new ArgumentOutOfRangeException(nameof(type), type, "Unknown prediction type.");
            }
        }
    }
}
