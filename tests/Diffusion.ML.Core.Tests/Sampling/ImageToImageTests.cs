using Diffusion.ML.Sampling;
using Diffusion.ML.Schedules;

namespace Diffusion.ML.Core.Tests.Sampling;

/// <summary>img2img / SDEdit (Meng et al. 2022) through <see cref="GenerationOptions.InitialImages"/> and <see cref="GenerationOptions.Strength"/>.</summary>
[TestClass]
public sealed class ImageToImageTests
{
    private static readonly NoiseSchedule Schedule = new(new NoiseScheduleOptions());
    private static readonly double[] Mean = [0.3, -0.5];
    private static readonly double[] Std = [0.5, 0.2];
    private static readonly float[] Input = [1.5f, 0.5f];

    private static DiffusionPipeline Pipeline() => new(new GaussianDataDenoiser(Schedule, Mean, Std), Schedule);

    [TestMethod]
    public void StrengthKeepsTheLastFractionOfTheTimesteps()
    {
        int[] ts = InferenceTimesteps.Create(1000, 50, TimestepSpacing.Leading);
        CollectionAssert.AreEqual(ts, DiffusionPipeline.TimestepsForStrength(ts, 1.0));
        CollectionAssert.AreEqual(ts.Skip(10).ToArray(), DiffusionPipeline.TimestepsForStrength(ts, 0.8));
        CollectionAssert.AreEqual(ts.Skip(35).ToArray(), DiffusionPipeline.TimestepsForStrength(ts, 0.3));
        Assert.AreEqual(0, DiffusionPipeline.TimestepsForStrength(ts, 0.019).Length);
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => DiffusionPipeline.TimestepsForStrength(ts, 1.1));
    }

    [TestMethod]
    public void StrengthZeroReturnsTheInputAndStrengthOneIsPlainSampling()
    {
        var pipeline = Pipeline();
        float[] images = [1.5f, 0.5f, -0.25f, 0.75f];
        var options = new GenerationOptions { Count = 3, NumInferenceSteps = 20, Seed = 4, InitialImages = images };
        CollectionAssert.AreEqual(new[] { 1.5f, 0.5f, -0.25f, 0.75f, 1.5f, 0.5f }, pipeline.Generate(new DdimSampler(), options with { Strength = 0 }));
        foreach (ISampler sampler in new ISampler[] { new DdimSampler(eta: 1), new DpmSolverPlusPlusSampler(order: 2), new EulerAncestralSampler() })
        {
            float[] plain = pipeline.Generate(sampler, options with { InitialImages = null });
            CollectionAssert.AreEqual(plain, pipeline.Generate(sampler, options with { Strength = 1 }), sampler.Name);
        }
    }

    [TestMethod]
    public void SdEditFollowsTheAffineDdimMapAndMovesTowardTheData()
    {
        // With the exact Gaussian denoiser every DDIM step is affine, x_s = A x_t + B (Song et al. 2021, eq. 12), so the output
        // of SDEdit from x_t0 ~ N(sqrt(abar_t0) x_in, 1 - abar_t0) is Gaussian with mean S sqrt(abar_t0) x_in + B_total and
        // variance S^2 (1 - abar_t0). As the strength grows, the mean moves from the input toward the data mean.
        const int count = 4096, steps = 50;
        var pipeline = Pipeline();
        int[] all = InferenceTimesteps.Create(1000, steps, TimestepSpacing.Leading);
        var previousDistance = new double[Mean.Length];
        for (int i = 0; i < Mean.Length; i++) previousDistance[i] = Math.Abs(Input[i] - Mean[i]);
        foreach (double strength in new[] { 0.2, 0.5, 0.8 })
        {
            float[] x = pipeline.Generate(new DdimSampler(), new GenerationOptions
            {
                Count = count, BatchSize = 1024, NumInferenceSteps = steps, InitialImages = Input, Strength = strength, ClipSample = false, Seed = 10,
            });
            int[] ts = all.Skip(steps - (int)(steps * strength)).ToArray();
            double a0 = Schedule.AlphaBar[ts[0]];
            for (int i = 0; i < Mean.Length; i++)
            {
                double mu = Mean[i], s2 = Std[i] * Std[i], slope = 1, offset = 0;
                for (int k = 0; k < ts.Length; k++)
                {
                    double at = Schedule.AlphaBar[ts[k]], a = k + 1 < ts.Length ? Schedule.AlphaBar[ts[k + 1]] : 1.0;
                    double Step(double xt)
                    {
                        double eps = Math.Sqrt(1 - at) * (xt - Math.Sqrt(at) * mu) / (at * s2 + 1 - at);
                        double x0 = (xt - Math.Sqrt(1 - at) * eps) / Math.Sqrt(at);
                        return Math.Sqrt(a) * x0 + Math.Sqrt(1 - a) * eps;
                    }
                    double b = Step(0), stepSlope = Step(1) - b;
                    offset = stepSlope * offset + b;
                    slope *= stepSlope;
                }
                double expectedMean = slope * Math.Sqrt(a0) * Input[i] + offset, expectedVariance = slope * slope * (1 - a0);
                double m = 0, v = 0;
                for (int k = 0; k < count; k++) m += x[k * 2 + i];
                m /= count;
                for (int k = 0; k < count; k++) v += Math.Pow(x[k * 2 + i] - m, 2);
                v /= count - 1;
                Console.WriteLine($"strength {strength}, coordinate {i}: mean {m:F4} (closed form {expectedMean:F4}), variance {v:F5} (closed form {expectedVariance:F5})");
                Assert.AreEqual(expectedMean, m, 3 * Math.Sqrt(expectedVariance / count), $"strength {strength}: mean of coordinate {i}");
                Assert.AreEqual(expectedVariance, v, 3 * expectedVariance * Math.Sqrt(2.0 / (count - 1)), $"strength {strength}: variance of coordinate {i}");
                double distance = Math.Abs(expectedMean - mu);
                Assert.IsTrue(distance < previousDistance[i], $"strength {strength}: the mean of coordinate {i} moves toward the data mean");
                previousDistance[i] = distance;
            }
        }
    }

    [TestMethod]
    public void ImageToImageNeverDependsOnTheBatchAndRunsOnlyTheKeptSteps()
    {
        var pipeline = Pipeline();
        var options = new GenerationOptions { Count = 5, NumInferenceSteps = 20, Seed = 1, InitialImages = [1f, 0f, -1f, 0.5f], Strength = 0.5 };
        var sampler = new DdimSampler(eta: 1);
        float[] whole = pipeline.Generate(sampler, options with { BatchSize = 5 });
        CollectionAssert.AreEqual(whole, pipeline.Generate(sampler, options with { BatchSize = 2 }));
        CollectionAssert.AreEqual(whole.Skip(6).ToArray(), pipeline.Generate(sampler, options with { Count = 2, FirstIndex = 3, BatchSize = 1 }));
        var reports = new List<GenerationProgress>();
        pipeline.Generate(sampler, options with { Count = 1 }, new SamplingTestKit.SynchronousProgress(reports.Add));
        Assert.AreEqual(10, reports.Count);
        Assert.AreEqual(10, reports[^1].Steps);
        var ex = Assert.ThrowsExactly<ArgumentException>(() => pipeline.Generate(sampler, options with { InitialImages = [1f, 2f, 3f] }));
        StringAssert.Contains(ex.Message, "multiple of the sample size 2");
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => pipeline.Generate(sampler, options with { Strength = -0.1 }));
    }
}
