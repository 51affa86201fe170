using Diffusion.ML.Sampling;
using Diffusion.ML.Schedules;
using Diffusion.ML.TorchSharp.Sampling;
using static TorchSharp.torch;

namespace Diffusion.ML.TorchSharp.Tests.Sampling;

[TestClass]
public sealed class ClassifierGuidanceTests
{
    private const int D = 3, Classes = 4;
    private static readonly NoiseSchedule Schedule = new(new NoiseScheduleOptions());
    private static readonly float[] W = [0.5f, -1f, 0.25f, 1.5f, 0.3f, -0.7f, -0.2f, 0.8f, 1.1f, 0.05f, -0.4f, 0.6f]; // Classes x D
    private static readonly float[] Bias = [0.1f, -0.2f, 0.3f, 0f];

    /// <summary>A linear softmax classifier that ignores t: grad_x log p(y | x) = W_y - sum_k p_k W_k in closed form.</summary>
    private static Tensor Classifier(Tensor x, Tensor t) =>
        x.matmul(tensor(W, [Classes, D]).t()) + tensor(Bias);

    private static double[] ClosedFormGradient(ReadOnlySpan<float> x, int y)
    {
        var logits = new double[Classes];
        for (int k = 0; k < Classes; k++)
        {
            logits[k] = Bias[k];
            for (int i = 0; i < D; i++) logits[k] += W[k * D + i] * x[i];
        }
        double max = logits.Max(), sum = logits.Sum(l => Math.Exp(l - max));
        var gradient = new double[D];
        for (int i = 0; i < D; i++)
        {
            gradient[i] = W[y * D + i];
            for (int k = 0; k < Classes; k++) gradient[i] -= Math.Exp(logits[k] - max) / sum * W[k * D + i];
        }
        return gradient;
    }

    [TestMethod]
    public void TheNoisePredictionMovesAlongTheClassifierGradient()
    {
        var baseModel = new DelegateDenoiser([D], PredictionType.Epsilon, (x, t, labels, output) =>
        {
            for (int i = 0; i < x.Length; i++) output[i] = 0.1f * x[i];
        });
        var guided = new ClassifierGuidedDenoiser(baseModel, Schedule, Classifier, Classes, scale: 3);
        Assert.AreEqual(Classes, guided.ClassCount, "an unconditional model takes the classifier's labels");
        float[] x = [0.4f, -1.2f, 0.7f, 1f, 0.2f, -0.3f, 0.5f, 0.5f, 0.5f];
        float[] t = [999f, 250.5f, 10f];
        int[] labels = [2, 0, Classes]; // the last row is the null class: not guided
        var output = new float[x.Length];
        guided.Predict(x, t, labels, output);
        for (int b = 0; b < 2; b++)
        {
            double s = Math.Sqrt(1 - Schedule.InterpolatedAlphaBar(t[b]));
            double[] g = ClosedFormGradient(x.AsSpan(b * D, D), labels[b]);
            for (int i = 0; i < D; i++)
                Assert.AreEqual(0.1 * x[b * D + i] - 3 * s * g[i], output[b * D + i], 1e-5, $"row {b}, coordinate {i}");
        }
        for (int i = 2 * D; i < 3 * D; i++) Assert.AreEqual(0.1f * x[i], output[i], 1e-7f, "null class untouched");
    }

    [TestMethod]
    public void VPredictionIsGuidedLikeTheEquivalentNoisePrediction()
    {
        // The same function as an eps model and as a v model: v = (eps - sqrt(1 - abar) x) / sqrt(abar).
        static float Eps(float x) => 0.2f * x - 0.1f;
        var epsModel = new DelegateDenoiser([D], PredictionType.Epsilon, (x, t, labels, output) =>
        {
            for (int i = 0; i < x.Length; i++) output[i] = Eps(x[i]);
        });
        var vModel = new DelegateDenoiser([D], PredictionType.VPrediction, (x, t, labels, output) =>
        {
            for (int i = 0; i < x.Length; i++)
            {
                double abar = Schedule.InterpolatedAlphaBar(t[i / D]);
                output[i] = (float)((Eps(x[i]) - Math.Sqrt(1 - abar) * x[i]) / Math.Sqrt(abar));
            }
        });
        float[] x = [0.3f, -0.6f, 0.9f, -1f, 0.1f, 0.4f];
        float[] t = [600f, 42f];
        int[] labels = [1, 3];
        var fromEps = new float[x.Length];
        var fromV = new float[x.Length];
        new ClassifierGuidedDenoiser(epsModel, Schedule, Classifier, Classes, scale: 2).Predict(x, t, labels, fromEps);
        new ClassifierGuidedDenoiser(vModel, Schedule, Classifier, Classes, scale: 2).Predict(x, t, labels, fromV);
        var x0Eps = new float[D];
        var x0V = new float[D];
        var unused = new float[D];
        for (int b = 0; b < 2; b++)
        {
            double abar = Schedule.InterpolatedAlphaBar(t[b]);
            ModelOutputs.ToSampleAndNoise(PredictionType.Epsilon, abar, x.AsSpan(b * D, D), fromEps.AsSpan(b * D, D), x0Eps, unused);
            ModelOutputs.ToSampleAndNoise(PredictionType.VPrediction, abar, x.AsSpan(b * D, D), fromV.AsSpan(b * D, D), x0V, unused);
            for (int i = 0; i < D; i++) Assert.AreEqual(x0Eps[i], x0V[i], 1e-4, $"row {b}, coordinate {i}: the same guided x_0");
        }
    }

    [TestMethod]
    public void GuidanceSteersSamplesTowardsTheClass()
    {
        // Gaussian data N(0, 1) in 3-D and the linear classifier: guided samples of class 3 score higher for class 3.
        var data = new GaussianDataDenoiser(Schedule, [0.0, 0.0, 0.0], [1.0, 1.0, 1.0]);
        var guided = new ClassifierGuidedDenoiser(data, Schedule, Classifier, Classes, scale: 4);
        var options = new GenerationOptions { Count = 64, BatchSize = 64, NumInferenceSteps = 20, ClipSample = false, ClassLabels = [3] };
        float[] plain = new DiffusionPipeline(data, Schedule).Generate(new DdimSampler(), options with { ClassLabels = null });
        float[] steered = new DiffusionPipeline(guided, Schedule).Generate(new DdimSampler(), options);
        static double MeanLogit(float[] samples, int y) => Enumerable.Range(0, samples.Length / D)
            .Average(k => Bias[y] + Enumerable.Range(0, D).Sum(i => W[y * D + i] * samples[k * D + i]));
        Assert.IsGreaterThan(MeanLogit(plain, 3) + 1, MeanLogit(steered, 3));
        Assert.ThrowsExactly<ArgumentException>(() => new ClassifierGuidedDenoiser(
            new DelegateDenoiser([D], PredictionType.Epsilon, (x, t, l, o) => { }, classCount: 5), Schedule, Classifier, Classes));
    }
}
