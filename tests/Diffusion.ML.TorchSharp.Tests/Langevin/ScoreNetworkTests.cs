using Diffusion.ML.Langevin;
using Diffusion.ML.TorchSharp.Modules;
using Diffusion.ML.TorchSharp.Sampling;
using Diffusion.ML.TorchSharp.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Diffusion.ML.TorchSharp.Tests.Langevin;

[TestClass]
public sealed class ScoreNetworkTests
{
    [TestInitialize]
    public void LoadTorch()
    {
        TorchSharpRuntime.EnsureLoaded();
        set_num_threads(1);
    }

    // For data N(0, s^2 I) the noised density is N(0, (s^2 + sigma^2) I), with score -x / (s^2 + sigma^2).
    private static Tensor GaussianScore(Tensor x, Tensor sigma, double dataVariance, double scale = 1)
        => -scale * x / (sigma.square() + dataVariance).unsqueeze(1);

    [TestMethod]
    public void LossOfTheTrueScoreIsItsAnalyticMinimum()
    {
        // 1/2 E|sigma s* + z|^2 with s* = -(x + sigma z) / (s^2 + sigma^2): sigma s* + z = (s^2 z - sigma x) / (s^2 + sigma^2),
        // each coordinate has variance (s^4 + sigma^2 s^2) / (s^2 + sigma^2)^2 = s^2 / (s^2 + sigma^2), so the minimum is
        // D/2 s^2 / (s^2 + sigma^2), averaged over the (uniformly used) levels.
        const int D = 2, N = 200_000;
        const double s = 0.7, variance = s * s;
        var levels = NoiseLevels.Geometric(3, 0.1, 5);
        manual_seed(5);
        using var scope = NewDisposeScope();
        var x = randn(N, D) * s;
        var z = randn(N, D);
        var sigma = tensor(Enumerable.Range(0, N).Select(i => (float)levels[i % levels.Count]).ToArray()); // every level equally often

        double minimum = levels.Sigmas.Average(sg => D / 2.0 * variance / (variance + sg * sg));
        double trueLoss = DenoisingScoreMatchingLoss.Compute((xt, sg) => GaussianScore(xt, sg, variance), x, sigma, z).item<float>();
        Assert.AreEqual(minimum, trueLoss, 0.01 * minimum, "loss of the exact score");

        // A wrong score, that of N(0, (2s)^2 I): s = -c x~ with c = 1 / (4 s^2 + sigma^2) has loss D/2 [(1 - c sigma^2)^2 + c^2 sigma^2 s^2].
        double wrongExpected = levels.Sigmas.Average(sg =>
        {
            double c = 1 / (4 * variance + sg * sg);
            return D / 2.0 * (Math.Pow(1 - c * sg * sg, 2) + c * c * sg * sg * variance);
        });
        double wrongLoss = DenoisingScoreMatchingLoss.Compute((xt, sg) => GaussianScore(xt, sg, 4 * variance), x, sigma, z).item<float>();
        Assert.AreEqual(wrongExpected, wrongLoss, 0.01 * wrongExpected, "loss of the wrong score");
        Assert.IsTrue(wrongLoss > trueLoss + 0.05, $"wrong {wrongLoss} must exceed true {trueLoss}");
        double scaledLoss = DenoisingScoreMatchingLoss.Compute((xt, sg) => GaussianScore(xt, sg, variance, scale: 1.2), x, sigma, z).item<float>();
        Assert.IsTrue(scaledLoss > trueLoss + 0.005, $"score x1.2: {scaledLoss} must exceed {trueLoss}");

        // The perturbation is x + sigma z, and the loss of a precomputed score equals the loss through a function.
        var perturbed = DenoisingScoreMatchingLoss.Perturb(x, sigma, z);
        Assert.IsTrue(perturbed.allclose(x + sigma.unsqueeze(1) * z));
        Assert.AreEqual(trueLoss, DenoisingScoreMatchingLoss.Compute(GaussianScore(perturbed, sigma, variance), sigma, z).item<float>(), 1e-6);
    }

    [TestMethod]
    public void FreshNetworkHasZeroScoreAndTheNcsnV2Parameterisation()
    {
        manual_seed(1);
        using var network = new NoiseConditionalScoreMlp(new NoiseConditionalScoreMlpOptions { HiddenWidth = 16, HiddenLayers = 2 });
        using var scope = NewDisposeScope();
        var x = randn(4, 2);
        Assert.AreEqual(0.0, network.call(x, tensor(0.5f)).abs().max().item<float>(), "zero-initialised output layer");

        // Without sigma conditioning or input scaling, sigma s(x, sigma) = f(x) does not depend on sigma.
        using var plain = new NoiseConditionalScoreMlp(new NoiseConditionalScoreMlpOptions
        {
            HiddenWidth = 16, HiddenLayers = 2, ConditionOnSigma = false, ScaleInput = false,
        });
        using (no_grad()) foreach (var p in plain.parameters()) p.normal_();
        var a = plain.call(x, tensor(new[] { 0.1f, 0.1f, 0.1f, 0.1f })) * 0.1;
        var b = plain.call(x, tensor(2f)) * 2;
        Assert.IsTrue(a.allclose(b, rtol: 1e-5, atol: 1e-5), "s(x, sigma) = f(x) / sigma");
        Assert.ThrowsExactly<ArgumentException>(() => plain.call(x, tensor(new[] { 1f, 2f })));
        Assert.ThrowsExactly<ArgumentException>(() => plain.call(randn(4, 3), tensor(1f)));

        var options = new NoiseConditionalScoreMlpOptions { HiddenWidth = 8, ConditionOnSigma = false, DataStandardDeviation = 2 };
        var roundTrip = NoiseConditionalScoreMlpOptions.FromJson(options.ToJson());
        Assert.AreEqual(options.ToJson(), roundTrip.ToJson());
        Assert.ThrowsExactly<ArgumentException>(() => new NoiseConditionalScoreMlp(new NoiseConditionalScoreMlpOptions { HiddenWidth = 7 }));
    }

    [TestMethod]
    public void TrainingIsSeedDeterministicAndTheAdapterMatchesTheNetwork()
    {
        var levels = NoiseLevels.Geometric(2, 0.1, 4);
        float[] data = [.. Enumerable.Range(0, 64).SelectMany(i => new[] { MathF.Sin(i), MathF.Cos(3 * i) })];
        float[][] RunTwenty(long seed)
        {
            manual_seed(0);
            using var network = new NoiseConditionalScoreMlp(new NoiseConditionalScoreMlpOptions { HiddenWidth = 16, HiddenLayers = 2 });
            using var trainer = new ScoreMatchingTrainer(network, data, levels, new ScoreMatchingTrainerOptions { BatchSize = 16, Seed = seed });
            var losses = new List<double>();
            trainer.Train(20, new Progress(p => losses.Add(p.Loss)));
            Assert.AreEqual(20, trainer.Step);
            Assert.AreEqual(20, losses.Count);
            return [.. trainer.Ema.parameters().Select(p => p.data<float>().ToArray())];
        }
        float[][] first = RunTwenty(3), second = RunTwenty(3), other = RunTwenty(4);
        for (int i = 0; i < first.Length; i++) CollectionAssert.AreEqual(first[i], second[i], $"parameter {i}");
        Assert.IsFalse(first.Zip(other).All(pair => pair.First.SequenceEqual(pair.Second)), "another seed trains differently");

        manual_seed(2);
        using var net = new NoiseConditionalScoreMlp(new NoiseConditionalScoreMlpOptions { HiddenWidth = 16, HiddenLayers = 2 });
        using (no_grad()) foreach (var p in net.parameters()) p.normal_(0, 0.3);
        var model = new TorchSharpScoreModel(net);
        CollectionAssert.AreEqual(new[] { 2 }, model.SampleShape.ToArray());
        float[] x = [0.5f, -1f, 2f, 0.25f, -3f, 1f];
        float[] sigmas = [0.1f, 1f, 2f];
        var output = new float[6];
        model.Score(x, sigmas, output);
        using var expected = net.call(tensor(x, [3, 2]), tensor(sigmas));
        CollectionAssert.AreEqual(expected.data<float>().ToArray(), output);

        Assert.ThrowsExactly<ArgumentException>(() => new ScoreMatchingTrainer(net, [1f, 2f, 3f], levels));
        Assert.ThrowsExactly<ArgumentException>(() => new ScoreMatchingTrainer(net, data, levels, new ScoreMatchingTrainerOptions { EmaDecay = 1 }));
    }

    private sealed class Progress(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }
}
