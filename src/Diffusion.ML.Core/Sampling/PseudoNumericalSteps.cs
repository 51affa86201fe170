using Diffusion.ML.Schedules;

namespace Diffusion.ML.Sampling;

/// <summary>
/// The pieces shared by <see cref="PlmsSampler"/> and <see cref="PndmSampler"/> (Liu et al. 2022, "Pseudo Numerical Methods
/// for Diffusion Models on Manifolds"): the transfer function phi, model evaluations as eps, and the linear multistep
/// combinations. States are kept in double precision; the model sees them as floats.
/// </summary>
internal static class PseudoNumericalSteps
{
    /// <summary>
    /// phi(x_t, e, t, s) = sqrt(abar_s / abar_t) x_t - (abar_s - abar_t) e / (sqrt(abar_t) (sqrt((1 - abar_s) abar_t) + sqrt((1 - abar_t) abar_s)))
    /// (Liu et al. 2022, eq. 11; diffusers' <c>_get_prev_sample</c>): DDIM's eta = 0 step with noise estimate e. t and s may be
    /// fractional (<see cref="NoiseSchedule.InterpolatedAlphaBar"/>); s = -1 is the clean sample. <paramref name="result"/> may
    /// be <paramref name="x"/>.
    /// </summary>
    public static void Transfer(NoiseSchedule schedule, double[] x, double[] e, double t, double s, double[] result)
    {
        double abarT = schedule.InterpolatedAlphaBar(t), abarS = schedule.InterpolatedAlphaBar(s);
        double xCoef = Math.Sqrt(abarS / abarT);
        double eCoef = (abarS - abarT) / (Math.Sqrt(abarT) * (Math.Sqrt((1 - abarS) * abarT) + Math.Sqrt((1 - abarT) * abarS)));
        for (int i = 0; i < x.Length; i++) result[i] = xCoef * x[i] - eCoef * e[i];
    }

    /// <summary>The model's eps estimate at <paramref name="state"/> and timestep <paramref name="t"/>, into <paramref name="e"/>.</summary>
    public static void Evaluate(SamplingContext context, double[] state, double t, Scratch scratch, double[] e)
    {
        for (int i = 0; i < state.Length; i++) scratch.Input[i] = (float)state[i];
        context.Denoise(scratch.Input, t, scratch.X0, scratch.Eps);
        for (int i = 0; i < state.Length; i++) e[i] = scratch.Eps[i];
    }

    /// <summary>
    /// The Adams-Bashforth combination of the last up to four eps estimates (oldest first), of order history.Count
    /// (Liu et al. 2022, sec. 3.3, PLMS, with diffusers' lower-order warm-up): e_0; (3 e_0 - e_-1) / 2; (23 e_0 - 16 e_-1 + 5 e_-2) / 12;
    /// (55 e_0 - 59 e_-1 + 37 e_-2 - 9 e_-3) / 24.
    /// </summary>
    public static void Combine(IReadOnlyList<double[]> history, double[] result)
    {
        ReadOnlySpan<double> weights = history.Count switch
        {
            1 => [1.0],
            2 => [-1 / 2.0, 3 / 2.0],
            3 => [5 / 12.0, -16 / 12.0, 23 / 12.0],
            4 => [-9 / 24.0, 37 / 24.0, -59 / 24.0, 55 / 24.0],
            _ => throw new ArgumentException($"The multistep history holds 1 to 4 estimates, not {history.Count}.", nameof(history)),
        };
        Array.Clear(result);
        for (int k = 0; k < history.Count; k++)
        {
            double w = weights[k];
            double[] e = history[k];
            for (int i = 0; i < result.Length; i++) result[i] += w * e[i];
        }
    }

    /// <summary>Appends an estimate to the history, keeping the last four; returns the array to fill (recycled when full).</summary>
    public static double[] Push(List<double[]> history, int length)
    {
        double[] slot;
        if (history.Count == 4)
        {
            slot = history[0];
            history.RemoveAt(0);
        }
        else slot = new double[length];
        history.Add(slot);
        return slot;
    }

    /// <summary>Per-run scratch space (the samplers keep no per-run state).</summary>
    public sealed class Scratch(int n)
    {
        public float[] Input { get; } = new float[n];
        public float[] X0 { get; } = new float[n];
        public float[] Eps { get; } = new float[n];
    }

    /// <summary>Copies a float span into a new double array.</summary>
    public static double[] ToDouble(ReadOnlySpan<float> x)
    {
        var result = new double[x.Length];
        for (int i = 0; i < x.Length; i++) result[i] = x[i];
        return result;
    }

    /// <summary>Writes a double state back to the caller's span.</summary>
    public static void Store(double[] state, Span<float> x)
    {
        for (int i = 0; i < x.Length; i++) x[i] = (float)state[i];
    }
}
