using static Diffusion.ML.Sampling.PseudoNumericalSteps;

namespace Diffusion.ML.Sampling;

/// <summary>
/// PLMS, the pseudo linear multistep method of Liu et al. 2022 ("Pseudo Numerical Methods for Diffusion Models on
/// Manifolds"), as diffusers' <c>PNDMScheduler</c> with <c>skip_prk_steps=True</c> runs it: every step is the transfer
/// phi(x_t, e', t, s) (eq. 11, DDIM's deterministic step) with e' a linear multistep combination of eps estimates (PLMS, sec. 3.3).
/// Warm-up of lower orders: the first step is a pseudo improved Euler step (an Euler step to s, a second evaluation there,
/// then phi from x_t with the mean of the two estimates); the next steps use second and third order Adams-Bashforth on the
/// estimates at the start of each step, then fourth order. N + 1 model evaluations for N &gt;= 2 timesteps (1 for N = 1).
/// <para>
/// The target of each step is the next listed timestep, and -1 (abar = 1, the clean sample) after the last, as for DDIM in
/// this library: with leading spacing this is diffusers with <c>set_alpha_to_one=True</c> (diffusers' PNDM default is false,
/// which ends at abar_0 instead). Only the eps estimates enter the update, so <see cref="GenerationOptions.ClipSample"/> has no
/// effect here (diffusers' PNDM has no clipping either).
/// </para>
/// </summary>
public sealed class PlmsSampler : ISampler
{
    /// <inheritdoc />
    public string Name => "plms";

    /// <inheritdoc />
    public int ModelEvaluations(int timestepCount) => timestepCount <= 1 ? timestepCount : timestepCount + 1;

    /// <inheritdoc />
    public void Sample(SamplingContext context, Span<float> x)
    {
        ArgumentNullException.ThrowIfNull(context);
        var schedule = context.Schedule;
        var timesteps = context.Timesteps;
        int n = x.Length;
        double[] state = ToDouble(x);
        var scratch = new Scratch(n);
        var history = new List<double[]>(4);
        var combined = new double[n];
        for (int k = 0; k < timesteps.Count; k++)
        {
            int t = timesteps[k], s = context.TargetOf(k);
            double[] e = Push(history, n);
            Evaluate(context, state, t, scratch, e);
            if (k == 0 && timesteps.Count > 1)
            {
                // Pseudo improved Euler: x' = phi(x_t, e_t, t, s); x_s = phi(x_t, (e_t + e(x', s)) / 2, t, s)
                var predicted = new double[n];
                Transfer(schedule, state, e, t, s, predicted);
                Evaluate(context, predicted, s, scratch, combined);
                for (int i = 0; i < n; i++) combined[i] = 0.5 * (e[i] + combined[i]);
            }
            else Combine(history, combined);
            Transfer(schedule, state, combined, t, s, state);
        }
        Store(state, x);
    }
}
