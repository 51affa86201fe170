namespace Diffusion.ML.Sampling;

/// <summary>Helpers shared by the multistep solvers in the log-SNR variable (DPM-Solver++, UniPC).</summary>
internal static class MultistepMath
{
    /// <summary>
    /// alpha-bar used by the solvers in place of an alpha-bar of exactly 0 (a zero-terminal-SNR schedule, Lin et al. 2024),
    /// so that lambda stays finite; diffusers sets the last alpha-bar to 2^-24 in that case.
    /// </summary>
    public const double MinAlphaBar = 1.0 / (1 << 24);

    /// <summary>alpha_t = sqrt(abar), sigma_t = sqrt(1 - abar) and lambda_t = log(alpha_t / sigma_t) (Lu et al. 2022, sec. 2); abar &lt; 1.</summary>
    public static (double Alpha, double Sigma, double Lambda) Vp(double alphaBar)
    {
        double a = alphaBar > 0 ? alphaBar : MinAlphaBar;
        return (Math.Sqrt(a), Math.Sqrt(1 - a), 0.5 * (Math.Log(a) - Math.Log(1 - a)));
    }

    /// <summary>e^x - 1 without cancellation for small |x| (Kahan's method).</summary>
    public static double ExpM1(double x)
    {
        if (double.IsNegativeInfinity(x)) return -1;
        double u = Math.Exp(x);
        if (u == 1.0) return x;
        double um1 = u - 1.0;
        if (um1 == -1.0) return -1.0;
        if (double.IsPositiveInfinity(u)) return u;
        return um1 * x / Math.Log(u);
    }

    /// <summary>Solves the small dense system a y = b by Gaussian elimination with partial pivoting (a and b are overwritten).</summary>
    public static double[] Solve(double[,] a, double[] b)
    {
        int n = b.Length;
        for (int c = 0; c < n; c++)
        {
            int pivot = c;
            for (int r = c + 1; r < n; r++) if (Math.Abs(a[r, c]) > Math.Abs(a[pivot, c])) pivot = r;
            if (a[pivot, c] == 0) throw new InvalidOperationException("Singular system in a multistep solver (repeated timesteps?).");
            if (pivot != c)
            {
                for (int k = 0; k < n; k++) (a[c, k], a[pivot, k]) = (a[pivot, k], a[c, k]);
                (b[c], b[pivot]) = (b[pivot], b[c]);
            }
            for (int r = c + 1; r < n; r++)
            {
                double f = a[r, c] / a[c, c];
                for (int k = c; k < n; k++) a[r, k] -= f * a[c, k];
                b[r] -= f * b[c];
            }
        }
        var y = new double[n];
        for (int r = n - 1; r >= 0; r--)
        {
            double sum = b[r];
            for (int k = r + 1; k < n; k++) sum -= a[r, k] * y[k];
            y[r] = sum / a[r, r];
        }
        return y;
    }

    /// <summary>Makes the newest entry of a history ring the oldest buffer, ready to be overwritten (index 0 = newest).</summary>
    public static void Push(float[][] buffers, double[] lambdas, double lambda)
    {
        float[] oldest = buffers[^1];
        for (int i = buffers.Length - 1; i > 0; i--)
        {
            buffers[i] = buffers[i - 1];
            lambdas[i] = lambdas[i - 1];
        }
        buffers[0] = oldest;
        lambdas[0] = lambda;
    }
}
