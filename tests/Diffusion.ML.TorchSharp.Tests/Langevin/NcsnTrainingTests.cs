using System.Diagnostics;
using Diffusion.ML.Data;
using Diffusion.ML.Langevin;
using Diffusion.ML.TorchSharp.Modules;
using Diffusion.ML.TorchSharp.Sampling;
using Diffusion.ML.TorchSharp.Training;
using static TorchSharp.torch;

namespace Diffusion.ML.TorchSharp.Tests.Langevin;

[TestClass]
public sealed class NcsnTrainingTests
{
    [TestInitialize]
    public void LoadTorch()
    {
        TorchSharpRuntime.EnsureLoaded();
        set_num_threads(1);
    }

    /// <summary>
    /// The NCSN end to end on CPU (about 15 s here): a score MLP (64 wide, 3 layers) trained for 3000 AdamW steps by denoising
    /// score matching on a 2-D mixture with weights 0.5 / 0.3 / 0.2, then sampled with annealed Langevin dynamics over
    /// 10 geometric levels from 6 to 0.05 (T = 50, epsilon = 1e-3, final denoising), puts each component's share of the
    /// samples within 5 points of its weight (a sweep of 4 seeds stayed within 1.7 points) and each component's sample
    /// mean within 0.1 of its mean.
    /// </summary>
    [TestMethod]
    public void TrainedScoreNetworkRecoversUnequalMixtureWeights()
    {
        var mixture = new GaussianMixture([[0.0, 3.0], [-2.6, -1.5], [2.6, -1.5]], standardDeviation: 0.3, weights: [0.5, 0.3, 0.2]);
        var levels = NoiseLevels.Geometric(sigmaMax: 6, sigmaMin: 0.05, count: 10); // sigma_1 about the largest distance (NCSNv2 technique 1)
        float[] data = mixture.Sample(4096, seed: 1);

        var clock = Stopwatch.StartNew();
        manual_seed(0);
        using var network = new NoiseConditionalScoreMlp(new NoiseConditionalScoreMlpOptions { HiddenWidth = 64, HiddenLayers = 3, DataStandardDeviation = 2 });
        using var trainer = new ScoreMatchingTrainer(network, data, levels, new ScoreMatchingTrainerOptions { BatchSize = 512, LearningRate = 1e-3 });
        double firstLoss = trainer.TrainStep();
        trainer.Train(3000);
        double trainSeconds = clock.Elapsed.TotalSeconds;
        double lastLoss = Enumerable.Range(0, 10).Select(_ => trainer.TrainStep()).Average();

        clock.Restart();
        const int count = 4000;
        var sampler = new AnnealedLangevinDynamics(new TorchSharpScoreModel(trainer.Ema), levels);
        float[] samples = sampler.Generate(new AnnealedLangevinOptions
        {
            Count = count, BatchSize = count, StepsPerLevel = 50, StepSize = 1e-3, FinalDenoising = true,
        });
        double sampleSeconds = clock.Elapsed.TotalSeconds;

        var fractions = new double[3];
        var means = new double[3, 2];
        for (int i = 0; i < count; i++)
        {
            double x = samples[2 * i], y = samples[2 * i + 1];
            int nearest = Enumerable.Range(0, 3).MinBy(k => Math.Pow(x - mixture.Means[k][0], 2) + Math.Pow(y - mixture.Means[k][1], 2));
            fractions[nearest]++;
            means[nearest, 0] += x;
            means[nearest, 1] += y;
        }
        Console.WriteLine($"loss {firstLoss:F3} -> {lastLoss:F3}; training {trainSeconds:F1} s, sampling {sampleSeconds:F1} s; " +
            $"weights {string.Join(" / ", fractions.Select(f => (f / count).ToString("F3")))}");
        for (int k = 0; k < 3; k++)
        {
            Assert.AreEqual(mixture.Weights[k], fractions[k] / count, 0.05, $"weight of component {k}");
            Assert.AreEqual(mixture.Means[k][0], means[k, 0] / fractions[k], 0.1, $"mean x of component {k}");
            Assert.AreEqual(mixture.Means[k][1], means[k, 1] / fractions[k], 0.1, $"mean y of component {k}");
        }
    }
}
