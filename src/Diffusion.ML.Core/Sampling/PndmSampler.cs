using static Diffusion.ML.Sampling.PseudoNumericalSteps;

namespace Diffusion.ML.Sampling;

/// <summary>
/// PNDM, the pseudo numerical method of Liu et al. 2022 ("Pseudo Numerical Methods for Diffusion Models on Manifolds"), as
/// diffusers' <c>PNDMScheduler</c> runs it by default (<c>skip_prk_steps=False</c>): the first three steps are pseudo
/// fourth-order Runge-Kutta steps (PRK, sec. 3.3: four evaluations at t, twice at the midpoint, and at s, combined as
/// e' = (e_1 + 2 e_2 + 2 e_3 + e_4) / 6 and transferred by phi of eq. 11), each later step a pseudo linear multistep step
/// (PLMS, sec. 3.3) of fourth order on the eps estimates at the starts of the last four steps. Model evaluations:
/// 12 + (N - 3) = N + 9 for N &gt;= 4 timesteps.
/// <para>
/// With fewer than four timesteps (where diffusers fails), the last step is always a multistep step and the ones before are
/// PRK steps: 4 (N - 1) + 1 evaluations. The midpoint of a PRK step from t to s is (t + s) / 2, fractional when t - s is odd
/// (<see cref="Schedules.NoiseSchedule.InterpolatedAlphaBar"/>); diffusers uses t - floor((T / N) / 2), the same point when
/// the step is even (e.g. leading spacing with 50 of 1000 steps). Targets, the final abar = 1 and clipping as for
/// <see cref="PlmsSampler"/>.
/// </para>
/// </summary>
public sealed class PndmSampler : ISampler
{
    /// <summary>The number of Runge-Kutta warm-up steps for a run of <paramref name="timestepCount"/> timesteps: 3, fewer for short runs.</summary>
    public static int RungeKuttaSteps(int timestepCount) => Math.Clamp(timestepCount - 1, 0, 3);

    /// <inheritdoc />
    public string Name => "pndm";

    /// <inheritdoc />
    public int ModelEvaluations(int timestepCount)
    {
        int rk = RungeKuttaSteps(timestepCount);
        return 4 * rk + (Math.Max(timestepCount, 0) - rk);
    }

    /// <inheritdoc />
    public void Sample(SamplingContext context, Span<float> x)
    {
        ArgumentNullException.ThrowIfNull(context);
        var schedule = context.Schedule;
        var timesteps = context.Timesteps;
        int n = x.Length, rk = RungeKuttaSteps(timesteps.Count);
        double[] state = ToDouble(x);
        var scratch = new Scratch(n);
        var history = new List<double[]>(4);
        var combined = new double[n];
        var stage = new double[n];
        var e = new double[n];
        for (int k = 0; k < timesteps.Count; k++)
        {
            int t = timesteps[k], s = context.TargetOf(k);
            double[] e1 = Push(history, n);
            Evaluate(context, state, t, scratch, e1);
            if (k < rk)
            {
                double mid = 0.5 * (t + s);
                // e' = (e_1 + 2 e_2 + 2 e_3 + e_4) / 6 with e_2 = e(phi(x_t, e_1, t, mid), mid), e_3 = e(phi(x_t, e_2, t, mid), mid),
                // e_4 = e(phi(x_t, e_3, t, s), s)   (Liu et al. 2022, sec. 3.3, PRK)
                for (int i = 0; i < n; i++) combined[i] = e1[i] / 6;
                Transfer(schedule, state, e1, t, mid, stage);
                Evaluate(context, stage, mid, scratch, e);
                for (int i = 0; i < n; i++) combined[i] += e[i] / 3;
                Transfer(schedule, state, e, t, mid, stage);
                Evaluate(context, stage, mid, scratch, e);
                for (int i = 0; i < n; i++) combined[i] += e[i] / 3;
                Transfer(schedule, state, e, t, s, stage);
                Evaluate(context, stage, s, scratch, e);
                for (int i = 0; i < n; i++) combined[i] += e[i] / 6;
            }
            else Combine(history, combined);
            Transfer(schedule, state, combined, t, s, state);
        }
        Store(state, x);
    }
}
