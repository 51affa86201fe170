using Diffusion.ML.Data;

namespace Diffusion.ML.Core.Tests.Langevin;

/// <summary>The unequal three-component mixture the Langevin tests sample, and how they score samples against it.</summary>
internal static class LangevinTestData
{
    /// <summary>Weights 0.5 / 0.3 / 0.2 at the corners of a triangle of side 5.2, component std 0.3.</summary>
    public static GaussianMixture Mixture() => new(
        [[0.0, 3.0], [-2.6, -1.5], [2.6, -1.5]], standardDeviation: 0.3, weights: [0.5, 0.3, 0.2]);

    /// <summary>Assigns each 2-D sample to its nearest component mean; returns the fraction, mean and std per component.</summary>
    public static (double[] Fractions, double[][] Means, double[] Stds) Assign(GaussianMixture mixture, float[] samples)
    {
        int k = mixture.Weights.Count, n = samples.Length / 2;
        var counts = new int[k];
        var sums = new double[k][];
        var squares = new double[k];
        for (int c = 0; c < k; c++) sums[c] = new double[2];
        for (int i = 0; i < n; i++)
        {
            double x = samples[2 * i], y = samples[2 * i + 1];
            int best = Enumerable.Range(0, k).MinBy(c => Square(x - mixture.Means[c][0]) + Square(y - mixture.Means[c][1]));
            counts[best]++;
            sums[best][0] += x;
            sums[best][1] += y;
            squares[best] += Square(x - mixture.Means[best][0]) + Square(y - mixture.Means[best][1]);
        }
        return (
            [.. counts.Select(c => (double)c / n)],
            [.. Enumerable.Range(0, k).Select(c => new[] { sums[c][0] / counts[c], sums[c][1] / counts[c] })],
            [.. Enumerable.Range(0, k).Select(c => Math.Sqrt(squares[c] / (2.0 * counts[c])))]);
    }

    private static double Square(double v) => v * v;
}
