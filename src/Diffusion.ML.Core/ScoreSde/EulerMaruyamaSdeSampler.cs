using Diffusion.ML.Sampling;

namespace Diffusion.ML.ScoreSde;

/// <summary>
/// Euler-Maruyama on the reverse-time SDE dx = [f(t) x - g(t)^2 grad log p_t(x)] dt + g(t) dw-bar (Song et al. 2021, eq. 6;
/// the "euler_maruyama" predictor of the paper's code): with dt = t_k - t_(k+1) &gt; 0,
/// x_(k+1) = x_k - [f(t_k) x_k - g(t_k)^2 s(x_k, t_k)] dt + g(t_k) sqrt(dt) z_k.
/// <para>
/// Grid: N = <see cref="SamplingContext.Timesteps"/>.Count uniform steps t_k = 1 - k (1 - end) / N from t = 1 down to
/// <see cref="EndTime"/>; only the count of the listed timesteps is used, not their values. With the default SDE
/// (<see cref="ScheduleVpSde"/> of the context's schedule) and N = T this evaluates the model at exactly the training
/// timesteps T-1, ..., 0, like DDPM. The last step adds no noise (the paper's noise-free last step, x_mean). One model
/// evaluation per step; each step's noise comes from <see cref="SamplingContext.DrawNoise"/>, so a sample never depends on
/// its batch. The pipeline's x_T ~ N(0, I) is scaled by <see cref="Sde.PriorStd"/> to a prior draw.
/// </para>
/// </summary>
public sealed class EulerMaruyamaSdeSampler : ISampler
{
    /// <summary>Creates the sampler.</summary>
    /// <param name="sde">The SDE; null (default) uses <see cref="ScheduleVpSde"/> of the context's schedule.</param>
    /// <param name="endTime">The time the last step lands on, in [0, 1). Default 0 (the clean sample).</param>
    public EulerMaruyamaSdeSampler(Sde? sde = null, double endTime = 0)
    {
        if (!(endTime >= 0 && endTime < 1)) throw new ArgumentOutOfRangeException(nameof(endTime), endTime, "The end time must lie in [0, 1).");
        Sde = sde;
        EndTime = endTime;
    }

    /// <summary>The SDE, or null for the context schedule's <see cref="ScheduleVpSde"/>.</summary>
    public Sde? Sde { get; }

    /// <summary>The time the last (noise-free) step lands on.</summary>
    public double EndTime { get; }

    /// <inheritdoc />
    public string Name => "sde-euler-maruyama";

    /// <inheritdoc />
    public int ModelEvaluations(int timestepCount) => Math.Max(timestepCount, 0);

    /// <inheritdoc />
    public void Sample(SamplingContext context, Span<float> x)
    {
        ArgumentNullException.ThrowIfNull(context);
        var model = new SdeModel(context, Sde);
        Sde sde = model.Sde;
        int steps = context.Timesteps.Count, n = x.Length;
        double[] state = model.InitialState(x);
        var score = new double[n];
        var noise = new float[n];
        for (int k = 0; k < steps; k++)
        {
            double t = SdeModel.GridTime(k, steps, EndTime), dt = t - SdeModel.GridTime(k + 1, steps, EndTime);
            model.Score(state, t, score);
            double f = sde.DriftCoefficient(t), g = sde.Diffusion(t);
            bool lastStep = k == steps - 1;
            if (!lastStep) context.DrawNoise(noise);
            double noiseScale = g * Math.Sqrt(dt);
            for (int i = 0; i < n; i++)
            {
                // x - [f x - g^2 s] dt + g sqrt(dt) z   (Song et al. 2021, eq. 6, Euler-Maruyama)
                state[i] -= (f * state[i] - g * g * score[i]) * dt;
                if (!lastStep) state[i] += noiseScale * noise[i];
            }
        }
        for (int i = 0; i < n; i++) x[i] = (float)state[i];
    }
}
