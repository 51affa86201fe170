using Diffusion.ML.Evaluation;
using Diffusion.ML.Sampling;
using Diffusion.ML.Schedules;
using Diffusion.ML.TorchSharp.Modules;
using Diffusion.ML.TorchSharp.Sampling;
using Diffusion.ML.TorchSharp.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Diffusion.ML.TorchSharp.Tests.Training;

/// <summary>Learned variance (Nichol and Dhariwal 2021): the L_vlb term against the double-precision bound, and training end to end.</summary>
[TestClass]
public sealed class LearnedVarianceTrainingTests
{
    private static readonly NoiseSchedule Schedule = new(new NoiseScheduleOptions());

    [TestInitialize]
    public void LoadTorch() => TorchSharpRuntime.EnsureLoaded();

    [TestMethod]
    public void TheVlbTermEqualsTheDoublePrecisionBoundTerms()
    {
        const int d = 6;
        long[] timesteps = [0, 3, 250, 999];
        var random = new Random(4);
        float Uniform(double lo, double hi) => (float)(lo + (hi - lo) * random.NextDouble());
        int n = timesteps.Length * d;
        float[] x0 = Enumerable.Range(0, n).Select(i => (float)(random.Next(256) / 127.5 - 1)).ToArray();
        x0[0] = -1; x0[1] = 1; // the two open-ended decoder bins
        float[] z = Enumerable.Range(0, n).Select(_ => Uniform(-2, 2)).ToArray();
        float[] xt = Enumerable.Range(0, n).Select(i => (float)(Schedule.SqrtAlphaBar[(int)timesteps[i / d]] * x0[i]
            + Schedule.SqrtOneMinusAlphaBar[(int)timesteps[i / d]] * z[i])).ToArray();          // x_t ~ q(x_t | x_0)
        float[] eps = z.Select(e => e + Uniform(-0.3, 0.3)).ToArray();                        // an imperfect noise prediction
        float[] v = Enumerable.Range(0, n).Select(_ => Uniform(-1, 1)).ToArray();

        using var term = new VariationalBoundTerm(Schedule, PredictionType.Epsilon, CPU);
        long[] shape = [timesteps.Length, 1, 2, 3];
        using var bits = term.Compute(tensor(eps, shape), tensor(v, shape), tensor(x0, shape), tensor(xt, shape), tensor(timesteps));
        float[] actual = bits.data<float>().ToArray();

        for (int b = 0; b < timesteps.Length; b++)
        {
            int t = (int)timesteps[b];
            var row = new Range(b * d, (b + 1) * d);
            var x0Estimate = new float[d];
            var epsEstimate = new float[d];
            ModelOutputs.ToSampleAndNoise(PredictionType.Epsilon, Schedule.AlphaBar[t], xt[row], eps[row], x0Estimate, epsEstimate);
            double nats = t == 0
                ? DiffusionLikelihood.DecoderNats(Schedule, x0[row], xt[row], x0Estimate, v[row])
                : DiffusionLikelihood.DiffusionTermNats(Schedule, t, x0[row], xt[row], x0Estimate, v[row]);
            double expected = nats / (d * Math.Log(2));
            Assert.AreEqual(expected, actual[b], 2e-3 * Math.Abs(expected) + 1e-5, $"t = {t}: expected {expected}, actual {actual[b]}");
        }
    }

    [TestMethod]
    public void TheVlbTermTrainsOnlyTheVariance()
    {
        using var term = new VariationalBoundTerm(Schedule, PredictionType.Epsilon, CPU);
        manual_seed(1);
        using var prediction = randn(2, 1, 2, 2).requires_grad_(true);
        using var v = (rand(2, 1, 2, 2) * 2 - 1).requires_grad_(true);
        using var x0 = rand(2, 1, 2, 2) * 2 - 1;
        using var xt = randn(2, 1, 2, 2);
        using var loss = term.Compute(prediction, v, x0, xt, tensor(new long[] { 10, 500 })).sum();
        loss.backward();
        Assert.IsNull(prediction.grad, "the mean's gradient is stopped (Nichol and Dhariwal 2021, sec. 3.1)");
        Assert.IsGreaterThan(0f, v.grad!.abs().sum().item<float>());
    }

    [TestMethod]
    public void AUNetWithLearnedSigmaTrainsAndSamplesWithItsVariance()
    {
        manual_seed(2);
        var network = new UNet(new UNetOptions
        {
            ImageChannels = 1, ImageSize = 8, BaseChannels = 8, ChannelMultipliers = [1, 2], AttentionResolutions = [], GroupNormGroups = 4,
            ClassCount = 3, LearnSigma = true,
        });
        Assert.IsTrue(network.LearnsVariance);
        using var trainer = new DdpmTrainer(network, TinyModels.Images(), new DdpmTrainerOptions { BatchSize = 8, WarmupSteps = 0, Seed = 1 });
        for (int i = 0; i < 3; i++) Assert.IsTrue(double.IsFinite(trainer.TrainStep()));

        var denoiser = new TorchSharpDenoiser(trainer.Ema.Model, PredictionType.Epsilon);
        Assert.IsTrue(denoiser.LearnsVariance);
        float[] samples = new DiffusionPipeline(denoiser, Schedule).Generate(Samplers.Create("ddpm-learned"),
            new GenerationOptions { Count = 2, NumInferenceSteps = 5, ClassLabels = [1], GuidanceScale = 2 });
        Assert.HasCount(2 * 64, samples);
        Assert.IsTrue(samples.All(float.IsFinite));
        var bound = new VariationalBound(denoiser, Schedule, new VariationalBoundOptions { Estimator = VariationalBoundEstimator.Sampled, TimestepsPerImage = 4 })
            .Estimate(TinyModels.Images().Pixels.Take(2 * 64).Select(p => (float)DiffusionLikelihood.SnapToGrid(p)).ToArray());
        Assert.IsTrue(double.IsFinite(bound.BitsPerDim) && bound.BitsPerDim > 0);
    }
}
