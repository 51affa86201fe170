using Diffusion.ML.Data;
using Diffusion.ML.Langevin;
using Diffusion.ML.Sampling;

namespace Diffusion.ML.Core.Tests.Langevin;

[TestClass]
public sealed class AnnealedLangevinTests
{
    // NCSNv2's advice for the levels: sigma_1 about the largest distance between data points (5.2 here).
    private static readonly NoiseLevels Levels = NoiseLevels.Geometric(sigmaMax: 6, sigmaMin: 0.05, count: 10);

    [TestMethod]
    public void GeometricLevelsFollowTheFormula()
    {
        var levels = NoiseLevels.Geometric(1, 0.01, 10);
        Assert.AreEqual(10, levels.Count);
        Assert.AreEqual(1.0, levels.Max);
        Assert.AreEqual(0.01, levels.Min);
        for (int i = 0; i < 10; i++)
            Assert.AreEqual(Math.Pow(0.01, i / 9.0), levels[i], 1e-12); // sigma_i = sigma_1 (sigma_L / sigma_1)^((i-1)/(L-1))
        for (int i = 1; i < 10; i++) Assert.AreEqual(levels[1] / levels[0], levels[i] / levels[i - 1], 1e-12, "constant ratio");
        Assert.AreEqual(2e-5 * 1e4, levels.StepSize(0, 2e-5), 1e-12); // alpha_1 = eps sigma_1^2 / sigma_L^2
        Assert.AreEqual(2e-5, levels.StepSize(9, 2e-5), 1e-15);
        Assert.AreEqual(3, levels.NearestIndex(levels[3] * 1.1));
        Assert.AreEqual(9, levels.NearestIndex(1e-6));
    }

    [TestMethod]
    public void LevelsAndOptionsAreValidated()
    {
        Assert.ThrowsExactly<ArgumentException>(() => new NoiseLevels([1.0, 1.0]));
        Assert.ThrowsExactly<ArgumentException>(() => new NoiseLevels([0.5, 1.0]));
        Assert.ThrowsExactly<ArgumentException>(() => new NoiseLevels([1.0, 0.0]));
        Assert.ThrowsExactly<ArgumentException>(() => new NoiseLevels([]));
        Assert.ThrowsExactly<ArgumentException>(() => NoiseLevels.Geometric(0.01, 1, 10));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => NoiseLevels.Geometric(1, 0.01, 1));
        Assert.AreEqual(0.3, new NoiseLevels([0.3]).Max);
        var sampler = new AnnealedLangevinDynamics(new NoisedGaussianMixtureScore(LangevinTestData.Mixture()), Levels);
        Assert.ThrowsExactly<ArgumentException>(() => sampler.Generate(new AnnealedLangevinOptions { StepsPerLevel = 0 }));
        Assert.ThrowsExactly<ArgumentException>(() => sampler.Generate(new AnnealedLangevinOptions { StepSize = 0 }));
        Assert.ThrowsExactly<ArgumentException>(() => sampler.Generate(new AnnealedLangevinOptions { InitialScale = -1 }));
    }

    [TestMethod]
    public void MixtureScoreIsTheGradientOfTheNoisedLogDensity()
    {
        // The noised mixture is the same mixture with std sqrt(s^2 + sigma^2); compare with central differences of its log density.
        var mixture = LangevinTestData.Mixture();
        var score = new NoisedGaussianMixtureScore(mixture);
        float[] points = [0.1f, 0.2f, -1.0f, -0.7f, 2.0f, 0.5f, 30f, -40f];
        float[] sigmas = [0.05f, 0.5f, 2f, 1f];
        var output = new float[points.Length];
        score.Score(points, sigmas, output);
        for (int b = 0; b < sigmas.Length; b++)
        {
            var noised = new GaussianMixture([.. mixture.Means.Select(m => m.ToArray())],
                Math.Sqrt(0.09 + (double)sigmas[b] * sigmas[b]), mixture.Weights.ToArray());
            for (int d = 0; d < 2; d++)
            {
                double[] plus = [points[2 * b], points[2 * b + 1]], minus = [points[2 * b], points[2 * b + 1]];
                const double h = 1e-5;
                plus[d] += h;
                minus[d] -= h;
                double expected = (noised.LogDensity(plus) - noised.LogDensity(minus)) / (2 * h);
                Assert.AreEqual(expected, output[2 * b + d], 1e-3 * Math.Max(1, Math.Abs(expected)), $"sample {b}, coordinate {d}");
            }
        }
    }

    [TestMethod]
    public void StepsFollowAlgorithmOneWithPerSampleNoise()
    {
        // Score s(x) = -x: replay Alg. 1 for sample 5 with its own stream and compare.
        var model = new DelegateScoreModel([2], (x, sigmas, output) => { for (int i = 0; i < x.Length; i++) output[i] = -x[i]; });
        var levels = NoiseLevels.Geometric(2, 0.5, 3);
        var options = new AnnealedLangevinOptions { Count = 3, FirstIndex = 3, Seed = 11, StepsPerLevel = 4, StepSize = 0.01 };
        float[] samples = new AnnealedLangevinDynamics(model, levels).Generate(options);

        var stream = new SampleNoise(11, 5);
        double[] x = [2 * stream.NextStandardNormal(), 2 * stream.NextStandardNormal()]; // x_0 ~ N(0, sigma_1^2 I)
        for (int i = 0; i < 3; i++)
        {
            double alpha = 0.01 * levels[i] * levels[i] / 0.25;
            for (int t = 0; t < 4; t++)
            {
                double z0 = stream.NextStandardNormal(), z1 = stream.NextStandardNormal();
                x[0] += alpha / 2 * -x[0] + Math.Sqrt(alpha) * z0;
                x[1] += alpha / 2 * -x[1] + Math.Sqrt(alpha) * z1;
            }
        }
        Assert.AreEqual(x[0], samples[4], 1e-5);
        Assert.AreEqual(x[1], samples[5], 1e-5);
    }

    [TestMethod]
    public void FinalDenoisingAddsSigmaLSquaredTimesTheScore()
    {
        var model = new DelegateScoreModel([2], (x, sigmas, output) =>
        {
            for (int b = 0; b < sigmas.Length; b++) { output[2 * b] = 1 / sigmas[b]; output[2 * b + 1] = -2; }
        });
        var sampler = new AnnealedLangevinDynamics(model, Levels);
        var options = new AnnealedLangevinOptions { Count = 5, StepsPerLevel = 2, StepSize = 1e-4 };
        var progress = new List<GenerationProgress>();
        float[] plain = sampler.Generate(options);
        float[] denoised = sampler.Generate(options with { FinalDenoising = true, BatchSize = 2 }, new SynchronousProgress<GenerationProgress>(progress.Add));
        for (int i = 0; i < plain.Length; i += 2)
        {
            Assert.AreEqual(plain[i] + 0.05, denoised[i], 1e-5); // sigma_L^2 / sigma_L
            Assert.AreEqual(plain[i + 1] - 0.0025 * 2, denoised[i + 1], 1e-5);
        }
        Assert.AreEqual(21, sampler.ModelEvaluations(options with { FinalDenoising = true }));
        Assert.AreEqual(3 * 21, progress.Count, "one report per evaluation per batch (batches 2, 2, 1)");
        Assert.AreEqual(new GenerationProgress(4, 5, 1, 21, 21), progress[^1]);
    }

    [TestMethod]
    public void ExactScoreRecoversTheMixtureWeightsAndMeans()
    {
        var mixture = LangevinTestData.Mixture();
        var sampler = new AnnealedLangevinDynamics(new NoisedGaussianMixtureScore(mixture), Levels);
        float[] samples = sampler.Generate(new AnnealedLangevinOptions
        {
            Count = 2000, BatchSize = 500, Seed = 3, StepsPerLevel = 100, StepSize = 1e-3, FinalDenoising = true,
        });
        var (fractions, means, stds) = LangevinTestData.Assign(mixture, samples);
        for (int k = 0; k < 3; k++)
        {
            Assert.AreEqual(mixture.Weights[k], fractions[k], 0.05, $"weight of component {k}");
            Assert.AreEqual(mixture.Means[k][0], means[k][0], 0.05, $"mean x of component {k}");
            Assert.AreEqual(mixture.Means[k][1], means[k][1], 0.05, $"mean y of component {k}");
            Assert.AreEqual(0.3, stds[k], 0.06, $"std of component {k}");
        }
        Console.WriteLine($"weights {string.Join(" / ", fractions.Select(f => f.ToString("F3")))}, stds {string.Join(" / ", stds.Select(s => s.ToString("F3")))}");
    }

    [TestMethod]
    public void SamplesDoNotDependOnBatchingOrSharding()
    {
        var sampler = new AnnealedLangevinDynamics(new NoisedGaussianMixtureScore(LangevinTestData.Mixture()), Levels);
        var options = new AnnealedLangevinOptions { Count = 10, Seed = 7, StepsPerLevel = 5, StepSize = 1e-3, Initialization = LangevinInitialization.Uniform };
        float[] whole = sampler.Generate(options with { BatchSize = 10 });
        CollectionAssert.AreEqual(whole, sampler.Generate(options with { BatchSize = 3 }));
        float[] shard = sampler.Generate(options with { Count = 4, FirstIndex = 6, BatchSize = 1 });
        CollectionAssert.AreEqual(whole[12..], shard);
        Assert.IsFalse(whole.SequenceEqual(sampler.Generate(options with { Seed = 8 })), "another seed gives other samples");
        Assert.IsTrue(sampler.Generate(options with { Count = 0 }).Length == 0);
    }

    private sealed class SynchronousProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
