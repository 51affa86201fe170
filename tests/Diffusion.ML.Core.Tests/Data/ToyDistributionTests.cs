using Diffusion.ML.Data;

namespace Diffusion.ML.Core.Tests.Data;

/// <summary>
/// The toy densities must integrate to 1 (midpoint rule on a grid finer than the noise) and agree with their samplers:
/// the mean of 20000 draws must match the density's mean within 4 standard errors.
/// </summary>
[TestClass]
public sealed class ToyDistributionTests
{
    private const int SampleCount = 20000;

    [TestMethod]
    public void EightGaussiansIntegratesToOneAndMatchesItsSamples()
    {
        var mixture = GaussianMixture.EightGaussians();
        Assert.AreEqual(8, mixture.Means.Count);
        Assert.AreEqual(4.0 / Math.Sqrt(2.0), Math.Sqrt((mixture.Means[1][0] * mixture.Means[1][0]) + (mixture.Means[1][1] * mixture.Means[1][1])), 1e-12);
        CheckAgainstSamples(mixture, -4.5, 4.5, -4.5, 4.5, step: 0.15);
    }

    [TestMethod]
    public void WeightedMixtureMatchesTheGaussianFormula()
    {
        var mixture = new GaussianMixture([[0.0, 0.0], [3.0, 1.0]], 0.5, [1.0, 3.0]);
        double[] x = [2.5, 1.5];
        double normalizer = 2 * Math.PI * 0.25;
        double expected = (0.25 * Math.Exp(-((2.5 * 2.5) + (1.5 * 1.5)) / 0.5) / normalizer)
            + (0.75 * Math.Exp(-((0.5 * 0.5) + (0.5 * 0.5)) / 0.5) / normalizer);

        Assert.AreEqual(Math.Log(expected), mixture.LogDensity(x), 1e-12);
        Assert.AreEqual(0.75, mixture.Weights[1], 1e-15);
        CheckAgainstSamples(mixture, -2.5, 5.5, -2.5, 3.5, step: 0.1);
    }

    [TestMethod]
    public void TwoMoonsIntegratesToOneAndMatchesItsSamples()
    {
        var moons = new TwoMoons(noise: 0.1);
        (double meanX, double meanY) = CheckAgainstSamples(moons, -1.7, 2.7, -1.2, 1.7, step: 0.05);

        // Exact mean of the process: x = (0 + 1) / 2, y = (2/pi + 0.5 - 2/pi) / 2.
        Assert.AreEqual(0.5, meanX, 1e-3);
        Assert.AreEqual(0.25, meanY, 1e-3);
    }

    [TestMethod]
    public void SwissRollIntegratesToOneAndMatchesItsSamples()
    {
        CheckAgainstSamples(new SwissRoll(noise: 0.2), -3.9, 3.9, -3.9, 3.9, step: 0.1);
    }

    [TestMethod]
    public void SamplingIsReproducibleForASeed()
    {
        var roll = new SwissRoll();
        CollectionAssert.AreEqual(roll.Sample(50, seed: 3), roll.Sample(50, seed: 3));
        CollectionAssert.AreNotEqual(roll.Sample(50, seed: 3), roll.Sample(50, seed: 4));
        Assert.ThrowsExactly<ArgumentException>(() => roll.Sample(new Random(1), new float[3], 2));
        Assert.ThrowsExactly<ArgumentException>(() => roll.LogDensity([1.0]));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new TwoMoons(noise: 0));
    }

    [TestMethod]
    public void CurveQuadratureMatchesASixteenTimesFinerGrid()
    {
        // The documented accuracy: relative error below 1e-6 within 2 noise std of the curve and below 1e-4 within 5,
        // worst just past the curve's ends, which are (1, 0) and (-1, 0) with tangents along y.
        Func<double, (double X, double Y)> halfCircle = u => (Math.Cos(Math.PI * u), Math.Sin(Math.PI * u));
        var standard = new NoisyCurveDensity([halfCircle], Math.PI, 0.1);
        var fine = new NoisyCurveDensity([halfCircle], 16 * Math.PI, 0.1);
        (double X, double Y, double Tolerance)[] points =
        [
            (1.0, 0.0, 1e-6), (1.05, -0.1, 1e-6), (-1.0, -0.2, 1e-6), (0.0, 1.0, 1e-6), (0.7, 0.6, 1e-6), (1.2, 0.0, 1e-6),
            (1.0, -0.4, 1e-4), (-1.0, -0.5, 1e-4), (0.0, 0.0, 1e-4),
        ];
        foreach ((double x, double y, double tolerance) in points)
        {
            Assert.AreEqual(fine.LogDensity(x, y), standard.LogDensity(x, y), tolerance, $"at ({x}, {y})");
        }
    }

    /// <summary>Integrates the density over the box and checks mass 1 and the sample mean; returns the density's mean.</summary>
    private static (double MeanX, double MeanY) CheckAgainstSamples(
        IToyDistribution distribution, double minX, double maxX, double minY, double maxY, double step)
    {
        double mass = 0, sumX = 0, sumY = 0, sumXX = 0, sumYY = 0;
        double[] point = new double[2];
        for (double x = minX + (step / 2); x < maxX; x += step)
        {
            for (double y = minY + (step / 2); y < maxY; y += step)
            {
                (point[0], point[1]) = (x, y);
                double weight = Math.Exp(distribution.LogDensity(point)) * step * step;
                mass += weight;
                sumX += weight * x;
                sumY += weight * y;
                sumXX += weight * x * x;
                sumYY += weight * y * y;
            }
        }

        Assert.AreEqual(1.0, mass, 1e-2, "The density must integrate to 1.");
        (double meanX, double meanY) = (sumX / mass, sumY / mass);
        double standardErrorX = Math.Sqrt(((sumXX / mass) - (meanX * meanX)) / SampleCount);
        double standardErrorY = Math.Sqrt(((sumYY / mass) - (meanY * meanY)) / SampleCount);

        float[] samples = distribution.Sample(SampleCount, seed: 11);
        double sampleX = 0, sampleY = 0;
        for (int i = 0; i < SampleCount; i++)
        {
            sampleX += samples[2 * i];
            sampleY += samples[(2 * i) + 1];
        }

        Assert.AreEqual(meanX, sampleX / SampleCount, 4 * standardErrorX, "Sample mean x must match the density's mean.");
        Assert.AreEqual(meanY, sampleY / SampleCount, 4 * standardErrorY, "Sample mean y must match the density's mean.");
        return (meanX, meanY);
    }
}
