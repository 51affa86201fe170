using Diffusion.ML.Sampling;
using Diffusion.ML.Schedules;

namespace Diffusion.ML.Core.Tests.Sampling;

/// <summary>
/// Samplers driven by the exact denoiser of Gaussian data must return that Gaussian: mean and variance of every
/// coordinate within 3 standard errors over 4096 samples.
/// </summary>
[TestClass]
public sealed class GaussianSamplerTests
{
    private const int SampleCount = 4096;
    private static readonly double[] Mean = [0.3, -0.5];
    private static readonly double[] Std = [0.5, 0.2];

    [TestMethod]
    // With all T steps the samplers are consistent; with fewer, DDPM's fixed variances and DDIM's first-order step both
    // shrink the variance (by 11% for DDIM-50 here: see DdimFiftyStepsMatchesItsAnalyticAffineMap).
    [DataRow("ddpm", 0.0, 1000, DisplayName = "DDPM fixed-small, 1000 steps")]
    [DataRow("ddpm-large", 0.0, 1000, DisplayName = "DDPM fixed-large, 1000 steps")]
    [DataRow("ddim", 0.0, 1000, DisplayName = "DDIM eta=0, 1000 steps")]
    [DataRow("ddim", 1.0, 1000, DisplayName = "DDIM eta=1, 1000 steps")]
    public void SamplerReturnsTheDataGaussian(string sampler, double eta, int steps)
    {
        var schedule = new NoiseSchedule(new NoiseScheduleOptions());
        var pipeline = new DiffusionPipeline(new GaussianDataDenoiser(schedule, Mean, Std), schedule);
        float[] x = pipeline.Generate(Samplers.Create(sampler, eta), new GenerationOptions
        {
            Count = SampleCount, BatchSize = 512, NumInferenceSteps = steps, ClipSample = false, Seed = 7,
        });
        for (int i = 0; i < Mean.Length; i++) AssertMoments(x, i, Mean[i], Std[i] * Std[i]);
    }

    [TestMethod]
    public void DdimFiftyStepsMatchesItsAnalyticAffineMap()
    {
        // With the exact Gaussian denoiser, each deterministic DDIM step is an affine map x_s = A x_t + B. Written out here
        // from Song et al. 2021, eq. 12, independently of the sampler code, and pushed through the mean and variance of x_T.
        var schedule = new NoiseSchedule(new NoiseScheduleOptions());
        int[] ts = InferenceTimesteps.Create(1000, 50, TimestepSpacing.Leading);
        var pipeline = new DiffusionPipeline(new GaussianDataDenoiser(schedule, Mean, Std), schedule);
        float[] x = pipeline.Generate(new DdimSampler(), new GenerationOptions { Count = SampleCount, BatchSize = 1024, Timesteps = ts, ClipSample = false });
        for (int i = 0; i < Mean.Length; i++)
        {
            double mu = Mean[i], s2 = Std[i] * Std[i], m = 0, v = 1;
            for (int k = 0; k < ts.Length; k++)
            {
                double at = schedule.AlphaBar[ts[k]], a = k + 1 < ts.Length ? schedule.AlphaBar[ts[k + 1]] : 1.0;
                double Step(double xt)
                {
                    double eps = Math.Sqrt(1 - at) * (xt - Math.Sqrt(at) * mu) / (at * s2 + 1 - at);
                    double x0 = (xt - Math.Sqrt(1 - at) * eps) / Math.Sqrt(at);
                    return Math.Sqrt(a) * x0 + Math.Sqrt(1 - a) * eps;
                }
                double b = Step(0), slope = Step(1) - b;
                m = slope * m + b;
                v = slope * slope * v;
            }
            Assert.IsTrue(v < 0.95 * s2, "DDIM-50 visibly shrinks the variance of Gaussian data; the test would be vacuous otherwise");
            AssertMoments(x, i, m, v);
        }
    }

    private static void AssertMoments(float[] x, int coordinate, double expectedMean, double expectedVariance)
    {
        int d = Mean.Length, n = x.Length / d;
        double m = 0, v = 0;
        for (int k = 0; k < n; k++) m += x[k * d + coordinate];
        m /= n;
        for (int k = 0; k < n; k++) v += Math.Pow(x[k * d + coordinate] - m, 2);
        v /= n - 1;
        double seMean = Math.Sqrt(expectedVariance / n), seVar = expectedVariance * Math.Sqrt(2.0 / (n - 1));
        Assert.AreEqual(expectedMean, m, 3 * seMean, $"mean of coordinate {coordinate}");
        Assert.AreEqual(expectedVariance, v, 3 * seVar, $"variance of coordinate {coordinate}");
    }

    [TestMethod]
    public void BatchSizeAndShardingNeverChangeASample()
    {
        var schedule = new NoiseSchedule(new NoiseScheduleOptions());
        var pipeline = new DiffusionPipeline(new GaussianDataDenoiser(schedule, Mean, Std), schedule);
        var sampler = new DdimSampler(eta: 1.0);
        var options = new GenerationOptions { Count = 10, NumInferenceSteps = 20, Seed = 3 };
        float[] whole = pipeline.Generate(sampler, options with { BatchSize = 10 });
        float[] small = pipeline.Generate(sampler, options with { BatchSize = 3 });
        float[] head = pipeline.Generate(sampler, options with { Count = 4, BatchSize = 4 });
        float[] tail = pipeline.Generate(sampler, options with { Count = 6, FirstIndex = 4, BatchSize = 5 });
        CollectionAssert.AreEqual(whole, small);
        CollectionAssert.AreEqual(whole, head.Concat(tail).ToArray());
        float[] otherSeed = pipeline.Generate(sampler, options with { Seed = 4 });
        CollectionAssert.AreNotEqual(whole, otherSeed);
    }
}
