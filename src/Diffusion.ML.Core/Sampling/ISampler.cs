using Diffusion.ML.Schedules;

namespace Diffusion.ML.Sampling;

/// <summary>
/// One reverse-process update rule x_t -> x_s (s &lt; t, s = -1 meaning the clean sample), written on plain spans so that it
/// serves every backend. The caller has already turned the model output into x_0 and eps estimates (see <see cref="ModelOutputs"/>).
/// </summary>
public interface ISampler
{
    /// <summary>The name the CLI and the public API select this sampler by (e.g. "ddim").</summary>
    string Name { get; }

    /// <summary>Whether the step from t to s adds fresh noise; if so the caller passes one N(0, I) draw per element.</summary>
    bool UsesNoise(int t, int s);

    /// <summary>Computes x_s for a batch laid out element by element.</summary>
    /// <param name="schedule">The training noise schedule.</param>
    /// <param name="t">Current timestep.</param>
    /// <param name="s">Target timestep, below t; -1 for the last step.</param>
    /// <param name="xt">Current samples.</param>
    /// <param name="x0">x_0 estimates (possibly clipped).</param>
    /// <param name="eps">eps estimates.</param>
    /// <param name="noise">Fresh N(0, I) noise when <see cref="UsesNoise"/> is true, else empty.</param>
    /// <param name="xs">Receives the new samples.</param>
    void Step(NoiseSchedule schedule, int t, int s, ReadOnlySpan<float> xt, ReadOnlySpan<float> x0, ReadOnlySpan<float> eps,
        ReadOnlySpan<float> noise, Span<float> xs);
}
