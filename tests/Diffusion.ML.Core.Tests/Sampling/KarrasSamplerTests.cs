using Diffusion.ML.Sampling;
using Diffusion.ML.Schedules;

namespace Diffusion.ML.Core.Tests.Sampling;

/// <summary>
/// The VE samplers of Karras et al. 2022 (euler, heun, euler-ancestral) on the exact denoiser of Gaussian data
/// N(mu, s^2), where the probability-flow ODE has the closed-form solution
/// x(sigma) = mu + (x(sigma_0) - mu) sqrt(s^2 + sigma^2) / sqrt(s^2 + sigma_0^2) in VE coordinates, i.e.
/// x_0 = mu + s (x_t - alpha_t mu) / sqrt(alpha_t^2 s^2 + sigma_t^2) from VP x_t (alpha_t^2 = abar, sigma_t^2 = 1 - abar).
/// </summary>
[TestClass]
public sealed class KarrasSamplerTests
{
    private static readonly NoiseSchedule Schedule = new(new NoiseScheduleOptions());
    private static readonly double[] Mean = [0.3, -0.5];
    private static readonly double[] Std = [0.5, 1.0];

    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    public void KarrasSigmasFollowEquationFive()
    {
        // N = 4, sigma_min = 0.002, sigma_max = 80, rho = 7, by hand: the 7th roots are spaced evenly.
        double lo = Math.Pow(0.002, 1 / 7.0), hi = Math.Pow(80, 1 / 7.0);
        double[] expected = [80, Math.Pow(hi + (lo - hi) / 3, 7), Math.Pow(hi + 2 * (lo - hi) / 3, 7), 0.002, 0];
        double[] sigmas = KarrasSigmas.Create(4, 0.002, 80);
        Assert.HasCount(5, sigmas);
        for (int i = 0; i < 5; i++) Assert.AreEqual(expected[i], sigmas[i], 1e-12 * Math.Max(1, expected[i]), $"sigma_{i}");
        CollectionAssert.AreEqual(new[] { 3.0, 0 }, KarrasSigmas.Create(1, 1, 3), "one step: sigma_max only");
        Assert.ThrowsExactly<ArgumentException>(() => KarrasSigmas.Create(3, 2, 1));
    }

    [TestMethod]
    public void NoiseLevelsComeFromTheEndpointsOfTheListedTimesteps()
    {
        int[] ts = InferenceTimesteps.Create(1000, 10, TimestepSpacing.Linspace);
        double sigmaMax = KarrasSigmas.FromAlphaBar(Schedule.AlphaBar[999]), sigmaMin = KarrasSigmas.FromAlphaBar(Schedule.AlphaBar[0]);
        CollectionAssert.AreEqual(KarrasSigmas.Create(10, sigmaMin, sigmaMax), new EulerSampler().NoiseLevels(Schedule, ts));
        Assert.AreEqual(157.4, sigmaMax, 0.1, "sigma(T-1) of the linear DDPM schedule");
        // Only the count and the endpoints of the list matter.
        int[] other = [999, 700, 600, 500, 400, 300, 200, 100, 50, 0];
        CollectionAssert.AreEqual(new EulerSampler().NoiseLevels(Schedule, ts), new EulerSampler().NoiseLevels(Schedule, other));
        // Without Karras sigmas: the sigmas of the listed timesteps, then 0.
        double[] plain = new HeunSampler(useKarrasSigmas: false).NoiseLevels(Schedule, other);
        for (int i = 0; i < other.Length; i++) Assert.AreEqual(KarrasSigmas.FromAlphaBar(Schedule.AlphaBar[other[i]]), plain[i], 0.0);
        Assert.AreEqual(0.0, plain[^1]);
        // Explicit bounds.
        double[] explicitBounds = new EulerSampler(sigmaMin: 0.05, sigmaMax: 20).NoiseLevels(Schedule, ts);
        Assert.AreEqual(20.0, explicitBounds[0]);
        Assert.AreEqual(0.05, explicitBounds[^2]);
    }

    [TestMethod]
    [DataRow("euler", true, 1.8, 2.2, DisplayName = "Euler, Karras sigmas: first order")]
    [DataRow("euler", false, 1.8, 2.2, DisplayName = "Euler, training sigmas: first order")]
    [DataRow("heun", true, 3.6, 4.8, DisplayName = "Heun, Karras sigmas: second order")]
    [DataRow("heun", false, 3.6, 4.8, DisplayName = "Heun, training sigmas: second order")]
    public void DeterministicSamplersConvergeToTheExactOdeMapWithTheirOrder(string name, bool karras, double minRatio, double maxRatio)
    {
        // Linspace spacing: sigma runs over the whole training range [sigma(0), sigma(999)]. The last step to sigma = 0 is an
        // Euler step, which returns D(x; sigma_min); its error sigma_min^2 / (2 s^2) relative does not shrink with N, so the
        // order is measured against the exact flow to sigma_min followed by that same step: D(x_exact(sigma_min); sigma_min).
        KarrasSampler Make() => name == "euler" ? new EulerSampler(useKarrasSigmas: karras) : new HeunSampler(useKarrasSigmas: karras);
        int[] counts = [20, 40, 80];
        var errors = new double[counts.Length];
        var totalErrors = new double[counts.Length];
        for (int c = 0; c < counts.Length; c++)
        {
            int[] ts = InferenceTimesteps.Create(1000, counts[c], TimestepSpacing.Linspace);
            double[] sigmas = Make().NoiseLevels(Schedule, ts);
            (float[] xT, float[] x) = SamplingTestKit.RunGaussian(Schedule, Mean, Std, Make(), ts);
            double s0 = sigmas[0], sMin = sigmas[^2];
            for (int k = 0; k < x.Length; k++)
            {
                double mu = Mean[k % 2], s = Std[k % 2];
                double xMin = mu + (xT[k] * Math.Sqrt(1 + s0 * s0) - mu) * Math.Sqrt(s * s + sMin * sMin) / Math.Sqrt(s * s + s0 * s0);
                double reference = mu + s * s / (s * s + sMin * sMin) * (xMin - mu);
                errors[c] = Math.Max(errors[c], Math.Abs(x[k] - reference));
                totalErrors[c] = Math.Max(totalErrors[c], Math.Abs(x[k] - SamplingTestKit.ExactX0(xT[k], 1 / (1 + s0 * s0), mu, s)));
            }
        }
        TestContext.WriteLine($"{name} karras={karras}: errors {string.Join(", ", errors.Select(e => e.ToString("E2")))}; " +
            $"to the exact x_0: {string.Join(", ", totalErrors.Select(e => e.ToString("E2")))}");
        for (int c = 0; c + 1 < counts.Length; c++)
        {
            double ratio = errors[c] / errors[c + 1];
            Assert.IsTrue(ratio > minRatio && ratio < maxRatio, $"error({counts[c]}) / error({counts[c + 1]}) = {ratio}");
        }
    }

    [TestMethod]
    public void EulerOnTrainingSigmasIsDeterministicDdim()
    {
        // DDIM (eta = 0) is Euler's method in (sigma, x / sqrt(abar)) (Karras et al. 2022, sec. 4; Song et al. 2021, eq. 14).
        int[] ts = InferenceTimesteps.Create(1000, 25, TimestepSpacing.Leading);
        (_, float[] euler) = SamplingTestKit.RunGaussian(Schedule, Mean, Std, new EulerSampler(useKarrasSigmas: false), ts);
        (_, float[] ddim) = SamplingTestKit.RunGaussian(Schedule, Mean, Std, new DdimSampler(), ts);
        for (int i = 0; i < euler.Length; i++) Assert.AreEqual(ddim[i], euler[i], 2e-5);
    }

    [TestMethod]
    public void EulerAncestralMatchesItsGaussianChainAndTheDataGaussianWithManySteps()
    {
        // Each step is x' - mu = A (x - mu) + sigma_up z with A = 1 + (sigma_down - sigma) sigma / (s^2 + sigma^2), so the output
        // is Gaussian with moments from a closed-form recursion. 50 steps: first-order bias (variance -22% for s = 0.5);
        // 1000 steps: the data Gaussian.
        AssertMoments(new EulerAncestralSampler(), 50, expectVisibleBias: true);
        AssertMoments(new EulerAncestralSampler(), 1000, expectVisibleBias: false);
    }

    [TestMethod]
    public void HeunWithChurnMatchesItsGaussianChainAndTheDataGaussianWithManySteps()
    {
        // Churn adds sqrt(sigma_hat^2 - sigma^2) z, then Heun's step is affine; 25 steps overshoot the variance by 17%,
        // 200 steps give the data Gaussian.
        var sampler = new HeunSampler(sChurn: 20, sTmin: 0.05, sTmax: 50);
        AssertMoments(sampler, 25, expectVisibleBias: true);
        AssertMoments(sampler, 200, expectVisibleBias: false);
    }

    [TestMethod]
    public void ModelEvaluationsAreExact()
    {
        foreach (ISampler sampler in new ISampler[] { new EulerSampler(), new HeunSampler(), new HeunSampler(useKarrasSigmas: false, sChurn: 5), new EulerAncestralSampler() })
            foreach (int n in new[] { 1, 2, 3, 7 })
                Assert.AreEqual(sampler.ModelEvaluations(n), CountEvaluations(sampler, n), $"{sampler.Name}, {n} timesteps");
        Assert.AreEqual(19, new HeunSampler().ModelEvaluations(10));
    }

    [TestMethod]
    public void BatchSizeNeverChangesASample()
    {
        var pipeline = new DiffusionPipeline(new GaussianDataDenoiser(Schedule, Mean, Std), Schedule);
        foreach (ISampler sampler in new ISampler[] { new EulerSampler(), new HeunSampler(sChurn: 10), new EulerAncestralSampler() })
        {
            var options = new GenerationOptions { Count = 7, NumInferenceSteps = 12, Seed = 5, ClipSample = false };
            float[] one = pipeline.Generate(sampler, options with { BatchSize = 1 });
            float[] seven = pipeline.Generate(sampler, options with { BatchSize = 7 });
            CollectionAssert.AreEqual(one, seven, sampler.Name);
        }
    }

    [TestMethod]
    public void SamplersAreRegisteredByName()
    {
        foreach (string name in new[] { "euler", "heun", "euler-ancestral" })
        {
            CollectionAssert.Contains(Samplers.Names.ToList(), name);
            Assert.AreEqual(name, Samplers.Create(name.ToUpperInvariant()).Name);
        }
        Assert.IsTrue(((KarrasSampler)Samplers.Create("heun")).UseKarrasSigmas);
    }

    [TestMethod]
    public void ZeroTerminalSnrIsRejectedWithTheReason()
    {
        var zero = new NoiseSchedule(new NoiseScheduleOptions { RescaleZeroTerminalSnr = true });
        var ex = Assert.ThrowsExactly<InvalidOperationException>(() => new EulerSampler().NoiseLevels(zero, [999, 500, 0]));
        StringAssert.Contains(ex.Message, "zero terminal SNR");
        Assert.HasCount(4, new EulerSampler().NoiseLevels(zero, [998, 500, 0]));
    }

    private static int CountEvaluations(ISampler sampler, int steps)
    {
        var pipeline = new DiffusionPipeline(new GaussianDataDenoiser(Schedule, Mean, Std), Schedule);
        int last = 0;
        pipeline.Generate(sampler, new GenerationOptions { Count = 2, BatchSize = 2, NumInferenceSteps = steps, ClipSample = false },
            new SamplingTestKit.SynchronousProgress(p => last = p.Step));
        return last;
    }

    private void AssertMoments(KarrasSampler sampler, int steps, bool expectVisibleBias)
    {
        const int n = 4096;
        int[] ts = InferenceTimesteps.Create(1000, steps, TimestepSpacing.Linspace);
        var pipeline = new DiffusionPipeline(new GaussianDataDenoiser(Schedule, Mean, Std), Schedule);
        float[] x = pipeline.Generate(sampler, new GenerationOptions { Count = n, BatchSize = 1024, Timesteps = ts, ClipSample = false, Seed = 3 });
        double[] sigmas = sampler.NoiseLevels(Schedule, ts);
        double sigmaTop = KarrasSigmas.FromAlphaBar(Schedule.AlphaBar[999]);
        for (int i = 0; i < Mean.Length; i++)
        {
            double mu = Mean[i], s2 = Std[i] * Std[i];
            double C(double sigma) => sigma / (s2 + sigma * sigma); // d = C(sigma) (x - mu) for the exact Gaussian denoiser
            // Moments of x - mu in VE coordinates, from x_ve = x_T sqrt(1 + sigma_0^2).
            double m = -mu, v = 1 + sigmas[0] * sigmas[0];
            for (int k = 0; k < steps; k++)
            {
                double sigma = sigmas[k], next = sigmas[k + 1], a;
                if (sampler is EulerAncestralSampler)
                {
                    double up = Math.Min(next, Math.Sqrt(next * next * (sigma * sigma - next * next) / (sigma * sigma)));
                    double down = Math.Sqrt(next * next - up * up);
                    a = 1 + (down - sigma) * C(sigma);
                    m *= a;
                    v = a * a * v + up * up;
                    continue;
                }
                var heun = (HeunSampler)sampler;
                double gamma = sigma >= heun.STmin && sigma <= heun.STmax ? Math.Min(heun.SChurn / steps, Math.Sqrt(2) - 1) : 0;
                double hat = Math.Min(sigma * (1 + gamma), Math.Max(sigma, sigmaTop)), h = next - hat;
                v += hat * hat - sigma * sigma;
                a = next == 0 ? 1 + h * C(hat) : 1 + h / 2 * (C(hat) + C(next) * (1 + h * C(hat)));
                m *= a;
                v *= a * a;
            }
            double chainMean = m + mu, chainVariance = v;
            double sampleMean = 0, sampleVariance = 0;
            for (int k = 0; k < n; k++) sampleMean += x[k * 2 + i];
            sampleMean /= n;
            for (int k = 0; k < n; k++) sampleVariance += Math.Pow(x[k * 2 + i] - sampleMean, 2);
            sampleVariance /= n - 1;
            // Standard errors of the sample mean and variance of n Gaussian draws; 3.5 SE over 16 checks: 0.7% false alarms.
            double seMean = Math.Sqrt(chainVariance / n), seVar = chainVariance * Math.Sqrt(2.0 / (n - 1));
            TestContext.WriteLine($"{sampler.Name}, {steps} steps, coordinate {i}: sample mean {sampleMean:F4}, variance {sampleVariance:F4}; " +
                $"chain {chainMean:F4}, {chainVariance:F4}; data {mu}, {s2}; SE {seMean:F4}, {seVar:F4}");
            Assert.AreEqual(chainMean, sampleMean, 3.5 * seMean, $"{sampler.Name}, {steps} steps: mean of coordinate {i} vs the chain");
            Assert.AreEqual(chainVariance, sampleVariance, 3.5 * seVar, $"{sampler.Name}, {steps} steps: variance of coordinate {i} vs the chain");
            if (expectVisibleBias)
            {
                if (i == 0) Assert.IsGreaterThan(5 * seVar, Math.Abs(chainVariance - s2), "the bias is visible, so the chain check is not vacuous");
                continue;
            }
            seMean = Math.Sqrt(s2 / n);
            seVar = s2 * Math.Sqrt(2.0 / (n - 1));
            Assert.AreEqual(mu, sampleMean, 3.5 * seMean, $"{sampler.Name}, {steps} steps: mean of coordinate {i}");
            Assert.AreEqual(s2, sampleVariance, 3.5 * seVar, $"{sampler.Name}, {steps} steps: variance of coordinate {i}");
        }
    }
}
