using Diffusion.ML.Sampling;
using Diffusion.ML.Schedules;

namespace Diffusion.ML.Core.Tests.Sampling;

[TestClass]
public sealed class PipelineTests
{
    private static readonly NoiseSchedule Schedule = new(new NoiseScheduleOptions());

    // An x_0-predicting model that outputs 1 for class 0, 3 for class 1 and -1 for the null class (2).
    private static DelegateDenoiser ClassConstantModel(List<int[]>? seenLabels = null) => new([1], PredictionType.Sample,
        (x, t, labels, output) =>
        {
            seenLabels?.Add(labels.ToArray());
            for (int i = 0; i < labels.Length; i++) output[i] = labels[i] switch { 0 => 1f, 1 => 3f, _ => -1f };
        }, classCount: 2);

    [TestMethod]
    public void ClassifierFreeGuidanceExtrapolatesFromTheNullClass()
    {
        var seen = new List<int[]>();
        var pipeline = new DiffusionPipeline(ClassConstantModel(seen), Schedule);
        // One DDIM step from t = 999 to the clean sample returns the (guided) x_0 estimate itself.
        float[] x = pipeline.Generate(new DdimSampler(), new GenerationOptions
        {
            Count = 3, Timesteps = [999], ClassLabels = [0, 1], GuidanceScale = 2.5, ClipSample = false,
        });
        CollectionAssert.AreEqual(new[] { -1 + 2.5f * 2, -1 + 2.5f * 4, -1 + 2.5f * 2 }, x);
        CollectionAssert.AreEqual(new[] { 0, 1, 0, 2, 2, 2 }, seen.Single(), "conditional half then null-class half");
    }

    [TestMethod]
    public void ConditionalModelWithoutLabelsSamplesTheNullClassAndClipsX0()
    {
        var pipeline = new DiffusionPipeline(ClassConstantModel(), Schedule);
        float[] x = pipeline.Generate(new DdimSampler(), new GenerationOptions { Count = 2, Timesteps = [999] });
        CollectionAssert.AreEqual(new[] { -1f, -1f }, x);
        float[] clipped = pipeline.Generate(new DdimSampler(), new GenerationOptions { Count = 1, Timesteps = [999], ClassLabels = [1] });
        CollectionAssert.AreEqual(new[] { 1f }, clipped, "x_0 = 3 is clipped to 1");
    }

    [TestMethod]
    public void VPredictionAndEpsilonPredictionAgreeForTheSameModel()
    {
        // Express the exact Gaussian denoiser as a v-predictor; DDIM must give the same samples up to float rounding.
        var eps = new GaussianDataDenoiser(Schedule, [0.2], [0.4]);
        var v = new DelegateDenoiser([1], PredictionType.VPrediction, (x, t, labels, output) =>
        {
            eps.Predict(x, t, labels, output);
            for (int i = 0; i < x.Length; i++)
            {
                double abar = Schedule.AlphaBar[(int)t[i]];
                double x0 = (x[i] - Math.Sqrt(1 - abar) * output[i]) / Math.Sqrt(abar);
                output[i] = (float)(Math.Sqrt(abar) * output[i] - Math.Sqrt(1 - abar) * x0);
            }
        });
        var options = new GenerationOptions { Count = 64, NumInferenceSteps = 25, ClipSample = false };
        float[] a = new DiffusionPipeline(eps, Schedule).Generate(new DdimSampler(), options);
        float[] b = new DiffusionPipeline(v, Schedule).Generate(new DdimSampler(), options);
        for (int i = 0; i < a.Length; i++) Assert.AreEqual(a[i], b[i], 1e-3, $"sample {i}");
    }

    [TestMethod]
    public void BadRequestsSayWhatIsWrong()
    {
        var conditional = new DiffusionPipeline(ClassConstantModel(), Schedule);
        var ex = Assert.ThrowsExactly<ArgumentException>(() => conditional.Generate(new DdimSampler(), new GenerationOptions { ClassLabels = [5] }));
        StringAssert.Contains(ex.Message, "outside [0, 1]");
        ex = Assert.ThrowsExactly<ArgumentException>(() => conditional.Generate(new DdimSampler(), new GenerationOptions { GuidanceScale = 3 }));
        StringAssert.Contains(ex.Message, "class labels");
        var unconditional = new DiffusionPipeline(new GaussianDataDenoiser(Schedule, [0], [1]), Schedule);
        ex = Assert.ThrowsExactly<ArgumentException>(() => unconditional.Generate(new DdimSampler(), new GenerationOptions { ClassLabels = [0] }));
        StringAssert.Contains(ex.Message, "unconditional");
        Assert.ThrowsExactly<ArgumentException>(() => unconditional.Generate(new DdimSampler(), new GenerationOptions { Timesteps = [3, 7] }));
        Assert.ThrowsExactly<ArgumentException>(() => Samplers.Create("euler-magic"));
    }

    [TestMethod]
    public void EpsilonModelOnAZeroTerminalSnrScheduleIsRefused()
    {
        var zero = new NoiseSchedule(new NoiseScheduleOptions { RescaleZeroTerminalSnr = true });
        var pipeline = new DiffusionPipeline(new GaussianDataDenoiser(zero, [0], [1]), zero);
        var ex = Assert.ThrowsExactly<InvalidOperationException>(() =>
            pipeline.Generate(new DdimSampler(), new GenerationOptions { Count = 1, TimestepSpacing = TimestepSpacing.Trailing }));
        StringAssert.Contains(ex.Message, "v-prediction");
    }
}
