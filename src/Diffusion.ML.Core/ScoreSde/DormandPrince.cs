namespace Diffusion.ML.ScoreSde;

/// <summary>
/// Adaptive explicit Runge-Kutta 5(4) of Dormand and Prince 1980 ("A family of embedded Runge-Kutta formulae"), with the
/// step-size control and starting step of Hairer, Norsett and Wanner, "Solving Ordinary Differential Equations I", sec. II.4
/// (as in DOPRI5 and scipy's RK45): local extrapolation (the 5th-order solution is propagated), FSAL, error norm
/// sqrt(mean((err_i / (atol + rtol max(|y_i|, |y_new,i|)))^2)) (eq. 4.11), new step h (0.9 / err)^(1/5) limited to
/// [0.2 h, 5 h], and no growth right after a rejection (eq. 4.13).
/// <para>
/// The system is split into independent groups (one per sample) of equal size, each with its own time, step size and
/// controller, so a group's solution never depends on the other groups. All groups advance in lockstep through the stages:
/// the right-hand side is called once per stage with one time per group and a mask of the groups still integrating.
/// The last right-hand-side call for a group is always at its end point (t1, y(t1)) (the FSAL stage of its final step).
/// </para>
/// </summary>
internal static class DormandPrince
{
    private static readonly double[] C = [0, 1 / 5.0, 3 / 10.0, 4 / 5.0, 8 / 9.0, 1, 1];

    private static readonly double[][] A =
    [
        [],
        [1 / 5.0],
        [3 / 40.0, 9 / 40.0],
        [44 / 45.0, -56 / 15.0, 32 / 9.0],
        [19372 / 6561.0, -25360 / 2187.0, 64448 / 6561.0, -212 / 729.0],
        [9017 / 3168.0, -355 / 33.0, 46732 / 5247.0, 49 / 176.0, -5103 / 18656.0],
        [35 / 384.0, 0, 500 / 1113.0, 125 / 192.0, -2187 / 6784.0, 11 / 84.0], // = the 5th-order weights b
    ];

    // e = b (5th order) - b* (4th order): 35/384 - 5179/57600, ..., 0 - 1/40   (Dormand and Prince 1980, Table 2)
    private static readonly double[] E =
        [71 / 57600.0, 0, -71 / 16695.0, 71 / 1920.0, -17253 / 339200.0, 22 / 525.0, -1 / 40.0];

    private const double Safety = 0.9, FacMin = 0.2, FacMax = 5;

    /// <summary>The right-hand side dy/dt for the groups whose <paramref name="active"/> flag is set (others: ignore).</summary>
    /// <param name="times">One time per group.</param>
    /// <param name="active">Which groups to evaluate.</param>
    /// <param name="y">States of all groups, group after group.</param>
    /// <param name="dydt">Receives the derivatives (only the active groups' entries are read).</param>
    public delegate void Derivative(ReadOnlySpan<double> times, ReadOnlySpan<bool> active, double[] y, double[] dydt);

    /// <summary>Per-group counts of one integration.</summary>
    /// <param name="Evaluations">Right-hand-side evaluations of each group (2 for the starting step, then 6 per attempted step).</param>
    /// <param name="Accepted">Accepted steps.</param>
    /// <param name="Rejected">Rejected steps.</param>
    /// <param name="Calls">Calls of the right-hand side (rounds over all groups).</param>
    public sealed record Statistics(int[] Evaluations, int[] Accepted, int[] Rejected, int Calls);

    /// <summary>Integrates every group from t0 to t1 (either direction), overwriting <paramref name="y"/> with y(t1).</summary>
    /// <exception cref="InvalidOperationException">The step size underflowed or a group needed more than <paramref name="maxSteps"/> steps.</exception>
    public static Statistics Integrate(int groups, int size, double t0, double t1, double[] y, Derivative f, double rtol, double atol,
        int maxSteps = 100_000, CancellationToken cancellationToken = default)
    {
        if (y.Length != groups * size) throw new ArgumentException($"State length {y.Length} is not {groups} x {size}.", nameof(y));
        var evaluations = new int[groups];
        var accepted = new int[groups];
        var rejected = new int[groups];
        int calls = 0;
        double span = t1 - t0, direction = Math.Sign(span);
        if (span == 0 || groups == 0) return new Statistics(evaluations, accepted, rejected, 0);

        int n = y.Length;
        var k = new double[7][];
        for (int s = 0; s < 7; s++) k[s] = new double[n];
        var stage = new double[n];
        var yNew = new double[n];
        var times = new double[groups];
        var t = new double[groups];
        var h = new double[groups]; // signed
        var active = new bool[groups];
        var last = new bool[groups];
        var justRejected = new bool[groups];
        Array.Fill(t, t0);
        Array.Fill(active, true);

        void Call(double[] state, double[] output)
        {
            cancellationToken.ThrowIfCancellationRequested();
            f(times, active, state, output);
            calls++;
            for (int g = 0; g < groups; g++)
                if (active[g]) evaluations[g]++;
        }

        // Starting step size (Hairer et al., sec. II.4, "Starting step size", steps a-f).
        Array.Fill(times, t0);
        Call(y, k[0]);
        var d1 = new double[groups];
        for (int g = 0; g < groups; g++)
        {
            double d0 = 0, d1g = 0;
            for (int i = g * size; i < (g + 1) * size; i++)
            {
                double sc = atol + Math.Abs(y[i]) * rtol;
                d0 += Sq(y[i] / sc);
                d1g += Sq(k[0][i] / sc);
            }
            d0 = Math.Sqrt(d0 / size);
            d1[g] = Math.Sqrt(d1g / size);
            double h0 = d0 < 1e-5 || d1[g] < 1e-5 ? 1e-6 : 0.01 * d0 / d1[g];
            h[g] = direction * Math.Min(h0, Math.Abs(span));
            times[g] = t0 + h[g];
            for (int i = g * size; i < (g + 1) * size; i++) stage[i] = y[i] + h[g] * k[0][i];
        }
        Call(stage, k[1]);
        for (int g = 0; g < groups; g++)
        {
            double d2 = 0;
            for (int i = g * size; i < (g + 1) * size; i++) d2 += Sq((k[1][i] - k[0][i]) / (atol + Math.Abs(y[i]) * rtol));
            double h0 = Math.Abs(h[g]);
            d2 = Math.Sqrt(d2 / size) / h0;
            double max = Math.Max(d1[g], d2);
            double h1 = max <= 1e-15 ? Math.Max(1e-6, h0 * 1e-3) : Math.Pow(0.01 / max, 1 / 5.0);
            h[g] = direction * Math.Min(Math.Min(100 * h0, h1), Math.Abs(span));
        }

        var tNew = new double[groups];
        while (Array.IndexOf(active, true) >= 0)
        {
            for (int g = 0; g < groups; g++)
            {
                if (!active[g]) continue;
                // Land exactly on t1 rather than overshoot it or leave a sliver (< 1e-10 of the span) behind.
                double remaining = t1 - t[g];
                last[g] = Math.Abs(h[g]) >= Math.Abs(remaining) - 1e-10 * Math.Abs(span);
                if (last[g]) h[g] = remaining;
                tNew[g] = last[g] ? t1 : t[g] + h[g];
                if (Math.Abs(h[g]) < 1e-14 * Math.Max(1, Math.Abs(t[g])))
                    throw new InvalidOperationException($"RK45 step size underflow at t = {t[g]} (the drift is not smooth or not finite).");
                if (accepted[g] + rejected[g] >= maxSteps)
                    throw new InvalidOperationException($"RK45 needed more than {maxSteps} steps; loosen rtol/atol.");
            }
            // Stages 2..7; stage 7 is evaluated at (t + h, y_new), the next step's first stage (FSAL).
            for (int s = 1; s < 7; s++)
            {
                for (int g = 0; g < groups; g++)
                {
                    if (!active[g]) continue;
                    times[g] = C[s] == 1 ? tNew[g] : t[g] + C[s] * h[g];
                    double[] target = s == 6 ? yNew : stage;
                    for (int i = g * size; i < (g + 1) * size; i++)
                    {
                        double sum = 0;
                        for (int j = 0; j < s; j++) sum += A[s][j] * k[j][i];
                        target[i] = y[i] + h[g] * sum;
                    }
                }
                Call(s == 6 ? yNew : stage, k[s]);
            }
            for (int g = 0; g < groups; g++)
            {
                if (!active[g]) continue;
                double err = 0;
                for (int i = g * size; i < (g + 1) * size; i++)
                {
                    double e = 0;
                    for (int j = 0; j < 7; j++) e += E[j] * k[j][i];
                    double sc = atol + rtol * Math.Max(Math.Abs(y[i]), Math.Abs(yNew[i]));
                    err += Sq(h[g] * e / sc);
                }
                err = Math.Sqrt(err / size);
                if (err <= 1)
                {
                    accepted[g]++;
                    t[g] = tNew[g];
                    for (int i = g * size; i < (g + 1) * size; i++)
                    {
                        y[i] = yNew[i];
                        k[0][i] = k[6][i];
                    }
                    if (last[g]) active[g] = false;
                    double factor = err == 0 ? FacMax : Math.Min(FacMax, Math.Max(FacMin, Safety * Math.Pow(err, -0.2)));
                    if (justRejected[g]) factor = Math.Min(1, factor);
                    h[g] *= factor;
                    justRejected[g] = false;
                }
                else
                {
                    rejected[g]++;
                    double factor = double.IsNaN(err) ? FacMin : Math.Max(FacMin, Safety * Math.Pow(err, -0.2));
                    h[g] *= factor;
                    justRejected[g] = true;
                }
            }
        }
        return new Statistics(evaluations, accepted, rejected, calls);
    }

    private static double Sq(double v) => v * v;
}
