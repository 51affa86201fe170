using Diffusion.ML.Schedules;

namespace Diffusion.ML.Core.Tests.Schedules;

[TestClass]
public sealed class NoiseScheduleTests
{
    private static readonly int[] Probes = [0, 1, 10, 250, 500, 900, 998, 999];

    [TestMethod]
    public void LinearBetasAreEvenlySpaced()
    {
        var s = new NoiseSchedule(new NoiseScheduleOptions { BetaSchedule = BetaSchedule.Linear });
        foreach (int t in Probes)
            Assert.AreEqual(1e-4 + (0.02 - 1e-4) * t / 999.0, s.Betas[t], 1e-15, $"t={t}");
    }

    [TestMethod]
    public void ScaledLinearBetasAreSquaresOfALine()
    {
        var s = new NoiseSchedule(new NoiseScheduleOptions { BetaSchedule = BetaSchedule.ScaledLinear, BetaStart = 0.00085, BetaEnd = 0.012 });
        foreach (int t in Probes)
        {
            double root = Math.Sqrt(0.00085) + (Math.Sqrt(0.012) - Math.Sqrt(0.00085)) * t / 999.0;
            Assert.AreEqual(root * root, s.Betas[t], 1e-15, $"t={t}");
        }
    }

    [TestMethod]
    public void CosineAlphaBarTelescopesToTheClosedForm()
    {
        // prod_{i<=t} abar((i+1)/T)/abar(i/T) = abar((t+1)/T)/abar(0) while no beta is clipped at 0.999.
        var s = new NoiseSchedule(new NoiseScheduleOptions { BetaSchedule = BetaSchedule.Cosine });
        static double F(double u) => Math.Pow(Math.Cos((u + 0.008) / 1.008 * Math.PI / 2), 2);
        foreach (int t in new[] { 0, 1, 10, 250, 500, 900, 990 })
            Assert.AreEqual(F((t + 1) / 1000.0) / F(0), s.AlphaBar[t], 1e-12 * Math.Max(1, 1 / s.AlphaBar[t]) + 1e-12, $"t={t}");
        Assert.AreEqual(0.999, s.Betas[999], 1e-15, "the last cosine beta is clipped at 0.999");
    }

    [TestMethod]
    public void SigmoidAlphaBarTelescopesToTheClosedForm()
    {
        var s = new NoiseSchedule(new NoiseScheduleOptions { BetaSchedule = BetaSchedule.Sigmoid });
        static double Sig(double x) => 1 / (1 + Math.Exp(-x));
        static double F(double u) => (Sig(3) - Sig(6 * u - 3)) / (Sig(3) - Sig(-3));
        foreach (int t in new[] { 0, 1, 10, 250, 500, 900, 990 })
            Assert.AreEqual(F((t + 1) / 1000.0), s.AlphaBar[t], 1e-12, $"t={t}");
    }

    [TestMethod]
    [DataRow(BetaSchedule.Linear)]
    [DataRow(BetaSchedule.ScaledLinear)]
    [DataRow(BetaSchedule.Cosine)]
    [DataRow(BetaSchedule.Sigmoid)]
    public void DerivedQuantitiesMatchTheirDefinitions(BetaSchedule kind)
    {
        var s = new NoiseSchedule(new NoiseScheduleOptions { BetaSchedule = kind });
        double logAlphaBar = 0;
        for (int t = 0; t < s.NumTrainTimesteps; t++)
        {
            logAlphaBar += Math.Log(1 - s.Betas[t]);
            double abar = Math.Exp(logAlphaBar), abarPrev = t == 0 ? 1 : s.AlphaBar[t - 1];
            Assert.AreEqual(abar, s.AlphaBar[t], 1e-12, $"alpha-bar t={t}");
            Assert.AreEqual(1 - s.Betas[t], s.Alphas[t], 1e-15);
            Assert.AreEqual(Math.Sqrt(abar), s.SqrtAlphaBar[t], 1e-12);
            Assert.AreEqual(Math.Sqrt(1 - abar), s.SqrtOneMinusAlphaBar[t], 1e-12);
            Assert.AreEqual(abar / (1 - abar), s.Snr[t], 1e-9 * Math.Max(1, s.Snr[t]));
            Assert.AreEqual(abarPrev, s.AlphaBarPrev[t], 1e-15);

            // Law of total expectation / variance for x_0 fixed: the posterior pushed through q(x_t | x_0) gives q(x_{t-1} | x_0).
            double c1 = s.PosteriorMeanCoef1[t], c2 = s.PosteriorMeanCoef2[t];
            Assert.AreEqual(Math.Sqrt(abarPrev), c1 + c2 * Math.Sqrt(abar), 1e-12, $"posterior mean t={t}");
            Assert.AreEqual(1 - abarPrev, c2 * c2 * (1 - abar) + s.PosteriorVariance[t], 1e-12, $"posterior variance t={t}");
            Assert.AreEqual(s.Betas[t] * (1 - abarPrev) / (1 - abar), s.PosteriorVariance[t], 1e-15);
        }
        Assert.AreEqual(0.0, s.PosteriorVariance[0], 0.0, "beta-tilde_1 = 0");
        Assert.AreEqual(Math.Log(s.PosteriorVariance[1]), s.PosteriorLogVarianceClipped[0], 1e-15);
        Assert.AreEqual(Math.Log(s.PosteriorVariance[500]), s.PosteriorLogVarianceClipped[500], 1e-15);
    }

    [TestMethod]
    public void PosteriorOverOneStepEqualsTheTables()
    {
        var s = new NoiseSchedule(new NoiseScheduleOptions());
        foreach (int t in new[] { 1, 37, 999 })
        {
            var p = s.Posterior(t, t - 1);
            Assert.AreEqual(s.PosteriorMeanCoef1[t], p.X0, 1e-12);
            Assert.AreEqual(s.PosteriorMeanCoef2[t], p.Xt, 1e-12);
            Assert.AreEqual(s.PosteriorVariance[t], p.Variance, 1e-12);
            Assert.AreEqual(s.Betas[t], p.Beta, 1e-12);
        }
        var last = s.Posterior(20, -1);
        Assert.AreEqual(1.0, last.X0 + last.Xt * s.SqrtAlphaBar[20], 1e-12, "a step to the clean sample has mean x_0");
        Assert.AreEqual(0.0, last.Variance, 1e-15);
    }

    [TestMethod]
    public void ZeroTerminalSnrRescaleKeepsTheFirstStepAndZeroesTheLast()
    {
        var plain = new NoiseSchedule(new NoiseScheduleOptions { BetaSchedule = BetaSchedule.ScaledLinear, BetaStart = 0.00085, BetaEnd = 0.012 });
        var zero = new NoiseSchedule(plain.Options with { RescaleZeroTerminalSnr = true });
        Assert.AreEqual(0.0, zero.AlphaBar[999], 1e-15);
        Assert.AreEqual(0.0, zero.Snr[999], 1e-15);
        Assert.AreEqual(1.0, zero.Betas[999], 1e-12);
        Assert.AreEqual(plain.AlphaBar[0], zero.AlphaBar[0], 1e-12);
        // sqrt(abar) is an affine map of the original: (sqrt(abar) - last) * first / (first - last).
        double first = plain.SqrtAlphaBar[0], lastV = plain.SqrtAlphaBar[999];
        foreach (int t in Probes)
            Assert.AreEqual((plain.SqrtAlphaBar[t] - lastV) * first / (first - lastV), zero.SqrtAlphaBar[t], 1e-12, $"t={t}");
    }

    [TestMethod]
    public void InterpolatedAlphaBarInterpolatesLogSigma()
    {
        var schedule = new NoiseSchedule(new NoiseScheduleOptions());
        static double Sigma(double abar) => Math.Sqrt((1 - abar) / abar);
        foreach (int t in new[] { -1, 0, 1, 500, 999 })
            Assert.AreEqual(schedule.AlphaBarAt(t), schedule.InterpolatedAlphaBar(t), 0.0, $"t={t}");
        // Halfway between 500 and 501 sigma is the geometric mean; a quarter of the way, sigma_500^0.75 sigma_501^0.25.
        double s500 = Sigma(schedule.AlphaBar[500]), s501 = Sigma(schedule.AlphaBar[501]);
        Assert.AreEqual(Math.Sqrt(s500 * s501), Sigma(schedule.InterpolatedAlphaBar(500.5)), 1e-12);
        Assert.AreEqual(Math.Pow(s500, 0.75) * Math.Pow(s501, 0.25), Sigma(schedule.InterpolatedAlphaBar(500.25)), 1e-12);
        // Between -1 (sigma = 0) and 0, sigma^2 is linear.
        double s0 = Sigma(schedule.AlphaBar[0]);
        Assert.AreEqual(0.3 * s0 * s0, Math.Pow(Sigma(schedule.InterpolatedAlphaBar(-0.7)), 2), 1e-15);
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => schedule.InterpolatedAlphaBar(999.5));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => schedule.InterpolatedAlphaBar(double.NaN));
    }

    [TestMethod]
    public void TimestepOfSigmaInvertsInterpolatedAlphaBar()
    {
        var schedule = new NoiseSchedule(new NoiseScheduleOptions());
        static double Sigma(double abar) => Math.Sqrt((1 - abar) / abar);
        foreach (double t in new[] { -1, -0.7, -0.01, 0, 0.25, 1, 10.5, 500, 500.25, 998.9, 999 })
            Assert.AreEqual(t, schedule.TimestepOfSigma(Sigma(schedule.InterpolatedAlphaBar(t))), 1e-9, $"t={t}");
        for (int t = 0; t < 1000; t += 37)
            Assert.AreEqual(t, schedule.TimestepOfSigma(Sigma(schedule.AlphaBar[t])), 1e-9, $"training timestep {t}");
        foreach (double sigma in new[] { 1e-4, 0.01, 0.5, 1, 10, 100, 157 })
            Assert.AreEqual(sigma, Sigma(schedule.InterpolatedAlphaBar(schedule.TimestepOfSigma(sigma))), 1e-12 * sigma + 1e-16 / sigma,
                $"sigma={sigma}"); // 1 - abar loses digits as sigma -> 0
        Assert.AreEqual(-1.0, schedule.TimestepOfSigma(0));
        // Halfway in log sigma between two training timesteps is halfway in t.
        Assert.AreEqual(500.5, schedule.TimestepOfSigma(Math.Sqrt(Sigma(schedule.AlphaBar[500]) * Sigma(schedule.AlphaBar[501]))), 1e-9);
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => schedule.TimestepOfSigma(-0.1));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => schedule.TimestepOfSigma(double.NaN));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => schedule.TimestepOfSigma(1.01 * Sigma(schedule.AlphaBar[999])));
        // Zero terminal SNR: sigma(T-1) is infinite, nothing above sigma(T-2) has a timestep.
        var zero = new NoiseSchedule(new NoiseScheduleOptions { RescaleZeroTerminalSnr = true });
        Assert.AreEqual(998, zero.TimestepOfSigma(Sigma(zero.AlphaBar[998])), 1e-9);
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => zero.TimestepOfSigma(1.01 * Sigma(zero.AlphaBar[998])));
    }

    [TestMethod]
    public void BadOptionsAreRejectedWithTheReason()
    {
        var ex = Assert.ThrowsExactly<ArgumentException>(() => new NoiseSchedule(new NoiseScheduleOptions { BetaStart = 0.1, BetaEnd = 0.01 }));
        StringAssert.Contains(ex.Message, "BetaStart <= BetaEnd");
        Assert.ThrowsExactly<ArgumentException>(() => new NoiseSchedule(new NoiseScheduleOptions { NumTrainTimesteps = 1 }));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new NoiseSchedule(new NoiseScheduleOptions()).AlphaBarAt(1000));
    }
}
