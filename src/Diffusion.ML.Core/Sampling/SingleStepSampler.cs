using Diffusion.ML.Schedules;

namespace Diffusion.ML.Sampling;

/// <summary>
/// Base of the samplers whose update x_t -> x_s uses one model evaluation at t and nothing from earlier steps (DDPM, DDIM):
/// they only define <see cref="Step(NoiseSchedule, int, int, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float})"/>; the loop over the timesteps is here.
/// </summary>
public abstract class SingleStepSampler : ISampler
{
    /// <inheritdoc />
    public abstract string Name { get; }

    /// <summary>Whether the step from t to s adds fresh noise; if so the step receives one N(0, I) draw per element.</summary>
    public abstract bool UsesNoise(int t, int s);

    /// <summary>Computes x_s for a batch laid out element by element.</summary>
    /// <param name="schedule">The training noise schedule.</param>
    /// <param name="t">Current timestep.</param>
    /// <param name="s">Target timestep, below t; -1 for the last step (the clean sample).</param>
    /// <param name="xt">Current samples.</param>
    /// <param name="x0">x_0 estimates (possibly clipped).</param>
    /// <param name="eps">eps estimates.</param>
    /// <param name="noise">Fresh N(0, I) noise when <see cref="UsesNoise"/> is true, else empty.</param>
    /// <param name="xs">Receives the new samples.</param>
    public abstract void Step(NoiseSchedule schedule, int t, int s, ReadOnlySpan<float> xt, ReadOnlySpan<float> x0, ReadOnlySpan<float> eps,
        ReadOnlySpan<float> noise, Span<float> xs);

    /// <summary>
    /// the schedule-only step inside a sampling run, where the context also holds what the model gave besides x_0 and eps
    /// (the variance values of a model that learns its variance). The default ignores the context.
    /// </summary>
    protected internal virtual void Step(SamplingContext context, int t, int s, ReadOnlySpan<float> xt, ReadOnlySpan<float> x0,
        ReadOnlySpan<float> eps, ReadOnlySpan<float> noise, Span<float> xs) => Step(context.Schedule, t, s, xt, x0, eps, noise, xs);

    /// <inheritdoc />
    public int ModelEvaluations(int timestepCount) => timestepCount;

    /// <inheritdoc />
    public void Sample(SamplingContext context, Span<float> x)
    {
        ArgumentNullException.ThrowIfNull(context);
        int n = x.Length;
        var x0 = new float[n];
        var eps = new float[n];
        var noise = new float[n];
        var next = new float[n];
        var timesteps = context.Timesteps;
        for (int k = 0; k < timesteps.Count; k++)
        {
            int t = timesteps[k], s = context.TargetOf(k);
            context.Denoise(x, t, x0, eps);
            bool usesNoise = UsesNoise(t, s);
            if (usesNoise) context.DrawNoise(noise);
            Step(context, t, s, x, x0, eps, usesNoise ? noise : ReadOnlySpan<float>.Empty, next);
            next.CopyTo(x);
        }
    }
}
