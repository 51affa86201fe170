namespace Diffusion.ML.Schedules;

/// <summary>The beta layouts of <see cref="BetaSchedule"/>, computed in double precision.</summary>
public static class BetaSchedules
{
    /// <summary>Builds beta_1..beta_T for the given options (before any zero-terminal-SNR rescale).</summary>
    public static double[] Create(NoiseScheduleOptions options)
    {
        options.Validate();
        int n = options.NumTrainTimesteps;
        return options.BetaSchedule switch
        {
            BetaSchedule.Linear => Linspace(options.BetaStart, options.BetaEnd, n),
            BetaSchedule.ScaledLinear => Linspace(Math.Sqrt(options.BetaStart), Math.Sqrt(options.BetaEnd), n).Select(b => b * b).ToArray(),
            BetaSchedule.Cosine => FromAlphaBar(n, options.MaxBeta, u => CosineAlphaBar(u, options.CosineOffset)),
            BetaSchedule.Sigmoid => FromAlphaBar(n, options.MaxBeta, u => SigmoidAlphaBar(u, options.SigmoidStart, options.SigmoidEnd, options.SigmoidTau)),
            _ => throw new ArgumentOutOfRangeException(nameof(options), options.BetaSchedule, "Unknown beta schedule."),
        };
    }

    /// <summary>Cosine alpha-bar at continuous time u in [0, 1] (Nichol and Dhariwal 2021, eq. 17), before normalising by its value at 0.</summary>
    public static double CosineAlphaBar(double u, double offset)
    {
        double c = Math.Cos((u + offset) / (1 + offset) * Math.PI / 2);
        return c * c;
    }

    /// <summary>Sigmoid alpha-bar at continuous time u in [0, 1] (Chen 2023, Alg. 1), equal to 1 at u = 0 and 0 at u = 1.</summary>
    public static double SigmoidAlphaBar(double u, double start, double end, double tau)
    {
        double vStart = Sigmoid(start / tau), vEnd = Sigmoid(end / tau);
        return (vEnd - Sigmoid((u * (end - start) + start) / tau)) / (vEnd - vStart);
    }

    /// <summary>
    /// Discretises a continuous alpha-bar: beta_t = min(1 - abar((t+1)/T) / abar(t/T), maxBeta) (Nichol and Dhariwal 2021, sec. 3.2).
    /// </summary>
    public static double[] FromAlphaBar(int steps, double maxBeta, Func<double, double> alphaBar)
    {
        var betas = new double[steps];
        for (int i = 0; i < steps; i++)
        {
            double a0 = alphaBar((double)i / steps), a1 = alphaBar((double)(i + 1) / steps);
            betas[i] = Math.Min(1 - a1 / a0, maxBeta);
        }
        return betas;
    }

    /// <summary>
    /// Rescales betas so that alpha-bar_T = 0 while alpha-bar_1 is kept (Lin et al. 2024, "Common Diffusion Noise Schedules and
    /// Sample Steps are Flawed", Alg. 1): shift sqrt(alpha-bar) so its last value is 0, scale so its first is unchanged.
    /// </summary>
    public static double[] RescaleZeroTerminalSnr(double[] betas)
    {
        int n = betas.Length;
        var sqrtAlphaBar = new double[n];
        double prod = 1;
        for (int i = 0; i < n; i++) { prod *= 1 - betas[i]; sqrtAlphaBar[i] = Math.Sqrt(prod); }
        double first = sqrtAlphaBar[0], last = sqrtAlphaBar[n - 1];
        var alphaBar = new double[n];
        for (int i = 0; i < n; i++)
        {
            double s = (sqrtAlphaBar[i] - last) * first / (first - last);
            alphaBar[i] = s * s;
        }
        var rescaled = new double[n];
        rescaled[0] = 1 - alphaBar[0];
        for (int i = 1; i < n; i++) rescaled[i] = 1 - alphaBar[i] / alphaBar[i - 1];
        return rescaled;
    }

    private static double Sigmoid(double x) => 1 / (1 + Math.Exp(-x));

    private static double[] Linspace(double start, double end, int n)
    {
        var v = new double[n];
        for (int i = 0; i < n; i++) v[i] = start + (end - start) * i / (n - 1);
        return v;
    }
}
