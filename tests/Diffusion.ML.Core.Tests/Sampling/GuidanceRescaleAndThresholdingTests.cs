using Diffusion.ML.Sampling;
using Diffusion.ML.Schedules;

namespace Diffusion.ML.Core.Tests.Sampling;

/// <summary>
/// Guidance rescale (Lin et al. 2024, eq. 15-16) and dynamic thresholding (Saharia et al. 2022, sec. 2.3) against
/// hand-computed values. One DDIM step from t = 999 to the clean sample returns the context's x_0 estimate itself, so an
/// x_0-predicting model exposes the guided, rescaled and thresholded output directly.
/// </summary>
[TestClass]
public sealed class GuidanceRescaleAndThresholdingTests
{
    private static readonly NoiseSchedule Schedule = new(new NoiseScheduleOptions());

    private static readonly float[][] Outputs =
    [
        [1f, -2f, 0.5f, 3f, -1f, 0.25f],     // class 0
        [0.3f, 0.1f, -0.2f, 0.6f, 0.4f, 0f], // class 1
        [0.2f, 0.1f, -0.3f, 0.4f, 0f, -0.1f], // null class
    ];

    private static DelegateDenoiser ClassPatternModel() => new([6], PredictionType.Sample, (x, t, labels, output) =>
    {
        for (int b = 0; b < labels.Length; b++) Outputs[labels[b]].CopyTo(output.Slice(b * 6, 6));
    }, classCount: 2);

    private static double Std(IEnumerable<double> values)
    {
        double[] v = values.ToArray();
        double m = v.Average();
        return Math.Sqrt(v.Sum(a => (a - m) * (a - m)) / (v.Length - 1));
    }

    [TestMethod]
    [DataRow(1.0)]
    [DataRow(0.7)]
    public void GuidanceRescaleMatchesTheFormula(double phi)
    {
        var pipeline = new DiffusionPipeline(ClassPatternModel(), Schedule);
        const double w = 3;
        float[] x = pipeline.Generate(new DdimSampler(), new GenerationOptions
        {
            Count = 2, Timesteps = [999], ClassLabels = [0, 1], GuidanceScale = w, GuidanceRescale = phi, ClipSample = false,
        });
        for (int b = 0; b < 2; b++)
        {
            float[] c = Outputs[b], u = Outputs[2];
            // g = u + w (c - u); result = phi g std(c) / std(g) + (1 - phi) g   (Lin et al. 2024, eq. 15-16)
            double[] g = c.Select((ci, i) => u[i] + w * (ci - u[i])).ToArray();
            double stdC = Std(c.Select(v => (double)v)), stdG = Std(g);
            double[] expected = g.Select(gi => phi * gi * stdC / stdG + (1 - phi) * gi).ToArray();
            double[] actual = x.Skip(b * 6).Take(6).Select(v => (double)v).ToArray();
            for (int i = 0; i < 6; i++) Assert.AreEqual(expected[i], actual[i], 1e-5, $"sample {b}, value {i}");
            if (phi == 1) Assert.AreEqual(stdC, Std(actual), 1e-5 * stdC, $"phi = 1: sample {b} has the conditional output's std");
        }
    }

    [TestMethod]
    public void GuidanceRescaleIsOffByDefaultAndValidated()
    {
        var pipeline = new DiffusionPipeline(ClassPatternModel(), Schedule);
        var options = new GenerationOptions { Count = 1, Timesteps = [999], ClassLabels = [0], GuidanceScale = 2, ClipSample = false };
        float[] x = pipeline.Generate(new DdimSampler(), options);
        for (int i = 0; i < 6; i++) Assert.AreEqual(Outputs[2][i] + 2 * (Outputs[0][i] - Outputs[2][i]), x[i], 1e-6);
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => pipeline.Generate(new DdimSampler(), options with { GuidanceRescale = 1.5 }));
    }

    [TestMethod]
    public void DynamicThresholdingMatchesAHandComputedPercentile()
    {
        // |x_0| of class 0 sorted: 0.25, 0.5, 1, 2, 3 and 1 again -> 0.25, 0.5, 1, 1, 2, 3. q = 0.9: position 0.9 * 5 = 4.5,
        // s = 2 + 0.5 (3 - 2) = 2.5; x_0 = clip(x_0, -2.5, 2.5) / 2.5. Class 1: the 0.9 quantile of |x_0| is 0.5 < 1, so s = 1
        // and nothing changes. With a maximum of 2, class 0 gets s = 2.
        float[] sorted = [0.25f, 0.5f, 1f, 1f, 2f, 3f];
        Assert.AreEqual(2.5, Thresholding.Quantile(sorted, 0.9), 1e-12);
        var pipeline = new DiffusionPipeline(ClassPatternModel(), Schedule);
        var options = new GenerationOptions { Count = 2, Timesteps = [999], ClassLabels = [0, 1], DynamicThresholdingQuantile = 0.9 };
        float[] x = pipeline.Generate(new DdimSampler(), options);
        float[] expected0 = [1 / 2.5f, -2 / 2.5f, 0.5f / 2.5f, 1f, -1 / 2.5f, 0.25f / 2.5f];
        for (int i = 0; i < 6; i++) Assert.AreEqual(expected0[i], x[i], 1e-6, $"class 0, value {i} (static clipping is replaced)");
        for (int i = 0; i < 6; i++) Assert.AreEqual(Outputs[1][i], x[6 + i], 1e-6, $"class 1, value {i}");
        float[] capped = pipeline.Generate(new DdimSampler(), options with { DynamicThresholdingMaxValue = 2 });
        float[] expectedCapped = [0.5f, -1f, 0.25f, 1f, -0.5f, 0.125f];
        for (int i = 0; i < 6; i++) Assert.AreEqual(expectedCapped[i], capped[i], 1e-6, $"capped, value {i}");
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => pipeline.Generate(new DdimSampler(), options with { DynamicThresholdingQuantile = 0 }));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => pipeline.Generate(new DdimSampler(), options with { DynamicThresholdingMaxValue = 0.5 }));
    }

    [TestMethod]
    public void ThresholdingAndRescaleNeverDependOnTheBatch()
    {
        // A stochastic sampler on a model whose x_0 estimates leave [-1, 1], so that every sample gets its own threshold.
        var model = new DelegateDenoiser([8], PredictionType.Epsilon, (x, t, labels, output) =>
        {
            for (int b = 0; b < labels.Length; b++)
            for (int i = 0; i < 8; i++)
                output[b * 8 + i] = 0.5f * x[b * 8 + i] + (labels[b] == 2 ? 0f : 0.3f * (labels[b] + 1) * (i % 3 - 1));
        }, classCount: 2);
        var pipeline = new DiffusionPipeline(model, Schedule);
        var options = new GenerationOptions
        {
            Count = 7, NumInferenceSteps = 10, Seed = 2, ClassLabels = [0, 1], GuidanceScale = 4, GuidanceRescale = 0.7,
            DynamicThresholdingQuantile = 0.8, DynamicThresholdingMaxValue = 1.5,
        };
        float[] whole = pipeline.Generate(new DdpmSampler(), options with { BatchSize = 7 });
        float[] single = pipeline.Generate(new DdpmSampler(), options with { BatchSize = 1 });
        float[] three = pipeline.Generate(new DdpmSampler(), options with { BatchSize = 3 });
        CollectionAssert.AreEqual(whole, single);
        CollectionAssert.AreEqual(whole, three);
        float[] unthresholded = pipeline.Generate(new DdpmSampler(), options with { DynamicThresholdingQuantile = null, ClipSample = false });
        CollectionAssert.AreNotEqual(whole, unthresholded, "the options act");
    }
}
