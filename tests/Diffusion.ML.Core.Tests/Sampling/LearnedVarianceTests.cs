using Diffusion.ML.Sampling;
using Diffusion.ML.Schedules;

namespace Diffusion.ML.Core.Tests.Sampling;

/// <summary>DDPM with the model's learned variance (Nichol and Dhariwal 2021, eq. 15) against the fixed variances it interpolates.</summary>
[TestClass]
public sealed class LearnedVarianceTests
{
    private static readonly NoiseSchedule Schedule = new(new NoiseScheduleOptions());
    private static readonly GaussianDataDenoiser Exact = new(Schedule, [0.3, -0.2, 0.1, 0.0], [0.5, 0.1, 1.0, 0.7]);

    /// <summary>The exact Gaussian denoiser's eps followed by variance values v(label) per sample.</summary>
    private static DelegateDenoiser WithVariance(Func<int, float> v, int classCount = 0) => new([4], PredictionType.Epsilon, (x, t, labels, output) =>
    {
        int batch = t.Length;
        var eps = new float[x.Length];
        Exact.Predict(x, t, [], eps);
        for (int b = 0; b < batch; b++)
        {
            eps.AsSpan(4 * b, 4).CopyTo(output.Slice(8 * b, 4));
            output.Slice(8 * b + 4, 4).Fill(v(labels.IsEmpty ? 0 : labels[b]));
        }
    }, classCount, learnsVariance: true);

    private static float[] Generate(IDenoiser denoiser, string sampler, double guidance = 1, int[]? classes = null) =>
        new DiffusionPipeline(denoiser, Schedule).Generate(Samplers.Create(sampler), new GenerationOptions
        {
            Count = 6, BatchSize = 3, NumInferenceSteps = 25, Seed = 3, ClipSample = false, GuidanceScale = guidance, ClassLabels = classes,
        });

    private static void AssertClose(float[] expected, float[] actual)
    {
        Assert.HasCount(expected.Length, actual);
        for (int i = 0; i < expected.Length; i++) Assert.AreEqual(expected[i], actual[i], 2e-5, $"element {i}");
    }

    [TestMethod]
    public void TheEndsOfTheInterpolationAreTheFixedVariances()
    {
        AssertClose(Generate(Exact, "ddpm"), Generate(WithVariance(_ => -1f), "ddpm-learned"));        // f = 0: beta-tilde
        AssertClose(Generate(Exact, "ddpm-large"), Generate(WithVariance(_ => 1f), "ddpm-learned"));   // f = 1: beta
    }

    [TestMethod]
    public void OneStepWithVZeroUsesTheGeometricMeanOfTheTwoVariances()
    {
        var sampler = new DdpmSampler(DdpmVarianceType.Learned);
        float[] xt = [0.5f, -1f], x0 = [0.2f, 0.1f], noise = [1f, -2f], v = [0f, 0.5f], xs = new float[2];
        sampler.StepWithVariance(Schedule, 600, 550, xt, x0, noise, v, xs);
        var p = Schedule.Posterior(600, 550);
        double[] sigma = [Math.Sqrt(Math.Sqrt(p.Beta * p.Variance)), Math.Exp(0.5 * (0.75 * Math.Log(p.Beta) + 0.25 * Math.Log(p.Variance)))];
        for (int i = 0; i < 2; i++)
            Assert.AreEqual(p.X0 * x0[i] + p.Xt * xt[i] + sigma[i] * noise[i], xs[i], 1e-6);
    }

    [TestMethod]
    public void WithGuidanceTheConditionalModelsVarianceIsUsed()
    {
        // Conditional rows say v = -1 (beta-tilde), null-class rows say v = +1 (beta): the step must follow the conditional model.
        var model = WithVariance(label => label == 2 ? 1f : -1f, classCount: 2);
        var fixedSmall = new DelegateDenoiser([4], PredictionType.Epsilon, (x, t, labels, output) => Exact.Predict(x, t, [], output), classCount: 2);
        AssertClose(Generate(fixedSmall, "ddpm", guidance: 3, classes: [0, 1]), Generate(model, "ddpm-learned", guidance: 3, classes: [0, 1]));
    }

    [TestMethod]
    public void ModelsWithoutVarianceAndDirectFixedStepsAreClearErrors()
    {
        var ex = Assert.ThrowsExactly<ArgumentException>(() => Generate(Exact, "ddpm-learned"));
        StringAssert.Contains(ex.Message, "learns its variance");
        Assert.ThrowsExactly<InvalidOperationException>(() =>
            new DdpmSampler(DdpmVarianceType.Learned).Step(Schedule, 10, 5, new float[1], new float[1], new float[1], new float[1], new float[1]));
        Assert.AreEqual("ddpm-learned", Samplers.Create("ddpm-learned").Name);
    }

    [TestMethod]
    public void ThePredictionOnlyViewDropsTheVarianceValues()
    {
        var model = WithVariance(_ => 0.25f);
        var view = PredictionOnlyDenoiser.Of(model);
        Assert.IsFalse(view.LearnsVariance);
        Assert.AreSame(Exact, PredictionOnlyDenoiser.Of(Exact));
        float[] x = [0.1f, 0.2f, 0.3f, 0.4f, -1f, 0f, 1f, 2f], t = [100, 900], expected = new float[8], actual = new float[8];
        Exact.Predict(x, t, [], expected);
        view.Predict(x, t, [], actual);
        CollectionAssert.AreEqual(expected, actual);
    }
}
