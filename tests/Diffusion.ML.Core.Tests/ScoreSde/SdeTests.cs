using Diffusion.ML.Schedules;
using Diffusion.ML.ScoreSde;

namespace Diffusion.ML.Core.Tests.ScoreSde;

/// <summary>
/// The SDEs of Song et al. 2021 against their closed forms (appendix B), the marginal ODEs dm/dt = f m and
/// d std^2 / dt = 2 f std^2 + g^2 that every affine SDE's perturbation kernel obeys, and the mapping to the discrete schedule.
/// </summary>
[TestClass]
public sealed class SdeTests
{
    private static readonly NoiseSchedule Linear = new(new NoiseScheduleOptions());

    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    public void ClosedFormsOfVpSubVpAndVe()
    {
        var vp = new VpSde();
        // log m(0.5) = -0.25 * 0.25 * 19.9 - 0.5 * 0.5 * 0.1 = -1.26875; log m(1) = -4.975 - 0.05 = -5.025   (eq. 33)
        Assert.AreEqual(Math.Exp(-1.26875), vp.MeanCoefficient(0.5), 1e-15);
        Assert.AreEqual(Math.Sqrt(1 - Math.Exp(-2.5375)), vp.MarginalStd(0.5), 1e-15);
        Assert.AreEqual(Math.Exp(-5.025), vp.MeanCoefficient(1), 1e-15);
        Assert.AreEqual(1.0, vp.MeanCoefficient(0));
        Assert.AreEqual(0.0, vp.MarginalStd(0));
        Assert.AreEqual(-0.5 * 10.05, vp.DriftCoefficient(0.5), 1e-15);
        Assert.AreEqual(Math.Sqrt(10.05), vp.Diffusion(0.5), 1e-15);

        var subVp = new SubVpSde();
        Assert.AreEqual(vp.MeanCoefficient(0.5), subVp.MeanCoefficient(0.5));
        Assert.AreEqual(1 - Math.Exp(-2.5375), subVp.MarginalStd(0.5), 1e-15);
        Assert.AreEqual(Math.Sqrt(10.05 * (1 - Math.Exp(-2 * 2.5375))), subVp.Diffusion(0.5), 1e-14);
        Assert.IsLessThan(vp.MarginalStd(0.3), subVp.MarginalStd(0.3), "sub-VP variance is below VP's");

        var ve = new VeSde();
        Assert.AreEqual(0.01 * Math.Sqrt(5000), ve.MarginalStd(0.5), 1e-14);
        Assert.AreEqual(50, ve.MarginalStd(1), 1e-12);
        Assert.AreEqual(0.01, ve.MarginalStd(0), 1e-17);
        Assert.AreEqual(0.01 * Math.Sqrt(5000) * Math.Sqrt(2 * Math.Log(5000)), ve.Diffusion(0.5), 1e-13);
        Assert.AreEqual(1.0, ve.MeanCoefficient(0.7));
        Assert.AreEqual(50.0, ve.PriorStd);

        // Prior log-density of N(0, sigma^2 I).
        double[] x = [1, -2];
        Assert.AreEqual(-Math.Log(2 * Math.PI * 2500) - 5 / 5000.0, ve.PriorLogDensity(x), 1e-12);
        Assert.AreEqual(-Math.Log(2 * Math.PI) - 2.5, vp.PriorLogDensity(x), 1e-12);
    }

    [TestMethod]
    public void MarginalsSolveTheMomentOdes()
    {
        Sde[] sdes = [new VpSde(), new SubVpSde(), new VeSde(), new ScheduleVpSde(Linear), new VpSde(0.5, 5)];
        // Times in the middle of the schedule's segments (tau = t T - 1 = i + 0.5), where beta is smooth.
        double[] times = [1.5 / 1000, 10.5 / 1000, 0.2505, 0.5005, 0.8885, 0.9985];
        const double h = 1e-7;
        foreach (Sde sde in sdes)
            foreach (double t in times)
            {
                double m = sde.MeanCoefficient(t), s = sde.MarginalStd(t), f = sde.DriftCoefficient(t), g = sde.Diffusion(t);
                double dm = (sde.MeanCoefficient(t + h) - sde.MeanCoefficient(t - h)) / (2 * h);
                double dv = (Math.Pow(sde.MarginalStd(t + h), 2) - Math.Pow(sde.MarginalStd(t - h), 2)) / (2 * h);
                Assert.AreEqual(f * m, dm, 1e-6 * (Math.Abs(f * m) + 1e-3), $"{sde.Name}: dm/dt at t = {t}");
                double expected = 2 * f * s * s + g * g;
                Assert.AreEqual(expected, dv, 1e-6 * (Math.Abs(expected) + 1), $"{sde.Name}: d std^2 / dt at t = {t}");
            }
    }

    [TestMethod]
    public void VpSdeIsTheContinuousLimitOfTheLinearSchedule()
    {
        // Song et al. 2021, appendix B: beta_i = beta(i / (N - 1)) / N gives Ho et al.'s linear 1e-4..0.02 schedule.
        var vp = new VpSde();
        for (int i = 0; i < 1000; i += 37) Assert.AreEqual(Linear.Betas[i], vp.Beta(i / 999.0) / 1000, 1e-15, $"beta_{i}");
        // Same integral of beta, but the discrete alpha-bar has the extra factor exp(-sum beta_i^2 / 2 - sum beta_i^3 / 3 - ...).
        double logDiscrete = Math.Log(Linear.AlphaBar[999]), logContinuous = 2 * vp.LogMeanCoefficient(1);
        double secondOrder = Linear.Betas.Sum(b => -Math.Log(1 - b) - b);
        TestContext.WriteLine($"log abar(1): discrete {logDiscrete:F5}, VP SDE {logContinuous:F5}, difference {logContinuous - logDiscrete:F5}, " +
            $"sum(-log(1 - beta) - beta) = {secondOrder:F5}");
        Assert.AreEqual(secondOrder, logContinuous - logDiscrete, 0.01 * secondOrder);
    }

    [TestMethod]
    public void ScheduleVpSdeHasExactlyTheScheduleMarginals()
    {
        var sde = new ScheduleVpSde(Linear);
        Assert.AreEqual(999.0, sde.TimestepOf(1));
        Assert.AreEqual(-1.0, sde.TimestepOf(0));
        Assert.AreEqual(1.0, sde.MeanCoefficient(0));
        for (int i = 0; i < 1000; i += 111)
        {
            double t = (i + 1) / 1000.0;
            Assert.AreEqual(Linear.AlphaBar[i], sde.AlphaBar(t), 1e-14 * Linear.AlphaBar[i], $"alpha-bar at timestep {i}");
            Assert.AreEqual(i, sde.ModelTimestep(Linear, t), 1e-9);
            // integral over [i/T, (i+1)/T] of beta = -log(1 - beta_i) exactly (Simpson's rule on the smooth segment).
            const int m = 64;
            double a = i / 1000.0, w = 1 / 1000.0 / m, integral = 0;
            for (int j = 0; j <= m; j++)
                integral += (j == 0 || j == m ? 1 : j % 2 == 1 ? 4 : 2) * sde.Beta(Math.Min(a + j * w, 1) - (j == m ? 1e-13 : 0));
            integral *= w / 3;
            Assert.AreEqual(-Math.Log(1 - Linear.Betas[i]), integral, 1e-9 * integral + 1e-12, $"integral of beta over step {i}");
            // beta(t) / T approximates beta_i (appendix B), to first order in beta.
            Assert.AreEqual(Linear.Betas[i], sde.Beta(t - 0.5e-3) / 1000, 0.02 * Linear.Betas[i] + 2e-6);
        }
        Assert.IsTrue(sde.IsSmooth, "the linear schedule's log sigma^2 spline is increasing");
        // beta is continuous across the training timesteps (the spline), unlike the piecewise-linear interpolation.
        foreach (int i in new[] { 1, 10, 500, 998 })
        {
            double node = (i + 1) / 1000.0, below = sde.Beta(node - 1e-9), above = sde.Beta(node + 1e-9);
            Assert.AreEqual(below, above, 1e-5 * below, $"beta continuous at timestep {i}");
        }
        Assert.ThrowsExactly<ArgumentException>(() => new ScheduleVpSde(new NoiseSchedule(new NoiseScheduleOptions { RescaleZeroTerminalSnr = true })));
    }

    [TestMethod]
    public void ModelTimestepHasTheSdeAlphaBar()
    {
        foreach (Sde sde in new Sde[] { new VpSde(), new SubVpSde(), new VeSde(), new ScheduleVpSde(Linear) })
            foreach (double t in new[] { 1e-3, 0.0015, 0.1, 0.3337, 0.5, 0.9, 1.0 })
            {
                double tau = sde.ModelTimestep(Linear, t), abar = sde.ModelAlphaBar(t);
                Assert.AreEqual(abar, Linear.InterpolatedAlphaBar(tau), 1e-9 * abar, $"{sde.Name} at t = {t}");
                // The scaled input x / sqrt(m^2 + std^2) = sqrt(abar) x_0 + sqrt(1 - abar) z.
                double c = sde.ModelInputScale(t);
                Assert.AreEqual(Math.Sqrt(abar), c * sde.MeanCoefficient(t), 1e-12);
                Assert.AreEqual(Math.Sqrt(1 - abar), c * sde.MarginalStd(t), 1e-12);
            }
        var tooWide = new VeSde(sigmaMax: 500);
        var ex = Assert.ThrowsExactly<InvalidOperationException>(() => tooWide.ModelTimestep(Linear, 1));
        StringAssert.Contains(ex.Message, "outside the range");
    }
}
