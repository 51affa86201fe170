using Diffusion.ML.Schedules;

namespace Diffusion.ML.Sampling;

/// <summary>
/// The exact optimal noise predictor for data x_0 ~ N(mu, diag(s^2)):
/// E[eps | x_t] = sqrt(1 - abar) (x_t - sqrt(abar) mu) / (abar s^2 + 1 - abar), per coordinate.
/// A sampler driven by it must return N(mu, s^2), which tests every sampler without training anything. Fractional
/// timesteps use <see cref="NoiseSchedule.InterpolatedAlphaBar"/>, as the sampling context does.
/// </summary>
public sealed class GaussianDataDenoiser : IDenoiser
{
    private readonly NoiseSchedule _schedule;
    private readonly double[] _mean;
    private readonly double[] _variance;

    /// <summary>Creates the denoiser for one sample of <paramref name="mean"/>.Length coordinates.</summary>
    /// <param name="schedule">The schedule whose alpha-bar defines x_t.</param>
    /// <param name="mean">Data mean per coordinate.</param>
    /// <param name="std">Data standard deviation per coordinate (same length as mean).</param>
    public GaussianDataDenoiser(NoiseSchedule schedule, IReadOnlyList<double> mean, IReadOnlyList<double> std)
    {
        _schedule = schedule ?? throw new ArgumentNullException(nameof(schedule));
        if (mean.Count == 0 || mean.Count != std.Count)
            throw new ArgumentException($"Mean and std need the same non-zero length, got {mean.Count} and {std.Count}.");
        if (std.Any(s => !(s > 0))) throw new ArgumentException("Every std must be positive.", nameof(std));
        _mean = mean.ToArray();
        _variance = std.Select(s => s * s).ToArray();
        SampleShape = [_mean.Length];
    }

    /// <inheritdoc />
    public IReadOnlyList<int> SampleShape { get; }

    /// <inheritdoc />
    public PredictionType PredictionType => PredictionType.Epsilon;

    /// <inheritdoc />
    public int ClassCount => 0;

    /// <inheritdoc />
    public void Predict(ReadOnlySpan<float> x, ReadOnlySpan<float> timesteps, ReadOnlySpan<int> classLabels, Span<float> output)
    {
        int d = _mean.Length;
        for (int b = 0; b < timesteps.Length; b++)
        {
            double abar = _schedule.InterpolatedAlphaBar(timesteps[b]);
            for (int i = 0; i < d; i++)
            {
                int k = b * d + i;
                output[k] = (float)(Math.Sqrt(1 - abar) * (x[k] - Math.Sqrt(abar) * _mean[i]) / (abar * _variance[i] + 1 - abar));
            }
        }
    }
}
