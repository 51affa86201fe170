using Diffusion.ML.Evaluation;

namespace Diffusion.ML.Core.Tests.Evaluation;

[TestClass]
public sealed class KernelInceptionDistanceTests
{
    [TestMethod]
    public void TinyCaseMatchesAHandComputation()
    {
        // D = 1, k(a, b) = (a b + 1)^3. Kxx: k(1, 2) = 27; Kyy: k(0, 3) = 1; Kxy: 1 + 64 + 1 + 343 = 409.
        // MMD^2_u = 2 * 27 / 2 + 2 * 1 / 2 - 2 * 409 / 4 = 27 + 1 - 204.5.
        float[][] x = [[1f], [2f]];
        float[][] y = [[0f], [3f]];
        Assert.AreEqual(-176.5, KernelInceptionDistance.UnbiasedMmd2(x, y), 1e-12);
    }

    [TestMethod]
    public void SameDistributionAveragesToZeroWhileTheBiasedEstimateDoesNot()
    {
        var random = new Random(30);
        const int reps = 200, m = 50, d = 8;
        var unbiased = new double[reps];
        var biased = new double[reps];
        for (int r = 0; r < reps; r++)
        {
            float[][] x = Sample(random, m, d, 0), y = Sample(random, m, d, 0);
            unbiased[r] = KernelInceptionDistance.UnbiasedMmd2(x, y);
            biased[r] = BiasedMmd2(x, y);
        }
        var (mean, standardError) = MeanAndStandardError(unbiased);
        Assert.AreEqual(0, mean, 3 * standardError, $"unbiased mean {mean}, standard error {standardError}");
        var (biasedMean, _) = MeanAndStandardError(biased);
        Assert.IsGreaterThan(10 * standardError, biasedMean, $"the V-statistic is biased upwards: {biasedMean}");
    }

    [TestMethod]
    public void ShiftedDistributionIsClearlyPositive()
    {
        var random = new Random(31);
        float[][] x = Sample(random, 100, 8, 0), y = Sample(random, 100, 8, 1);
        double mmd = KernelInceptionDistance.UnbiasedMmd2(x, y);
        Assert.IsGreaterThan(1.0, mmd, $"MMD^2 = {mmd}");

        var (kid, std) = KernelInceptionDistance.Compute(x, y, subsets: 20, subsetSize: 50, seed: 3);
        Assert.IsGreaterThan(0.5, kid, $"KID = {kid}");
        Assert.IsGreaterThan(0.0, std);
        Assert.AreEqual(kid, KernelInceptionDistance.Compute(x, y, subsets: 20, subsetSize: 50, seed: 3).Mean, 0.0, "seeded subsets are reproducible");
    }

    [TestMethod]
    public void SubsetSizeIsCappedAtTheSmallerSet()
    {
        var random = new Random(32);
        float[][] x = Sample(random, 30, 4, 0), y = Sample(random, 30, 4, 0.5);
        // Capped at 30, every subset is a whole set, so each subset estimate equals the full-set estimate.
        var (kid, std) = KernelInceptionDistance.Compute(x, y, subsets: 3, subsetSize: 1000);
        Assert.AreEqual(KernelInceptionDistance.UnbiasedMmd2(x, y), kid, 1e-9);
        Assert.AreEqual(0, std, 1e-9);
        float[][] larger = Sample(random, 40, 4, 0.5);
        Assert.IsTrue(double.IsFinite(KernelInceptionDistance.Compute(x, larger, subsets: 3, subsetSize: 1000).Mean), "40 vs 30 vectors draws subsets of 30");
    }

    [TestMethod]
    public void RejectsInvalidFeatureSets()
    {
        float[][] ok = [[1f, 2f], [3f, 4f]];
        Assert.ThrowsExactly<ArgumentException>(() => KernelInceptionDistance.UnbiasedMmd2([[1f, 2f]], ok));
        Assert.ThrowsExactly<ArgumentException>(() => KernelInceptionDistance.UnbiasedMmd2(ok, [[1f, 2f], [3f]]));
        var nan = Assert.ThrowsExactly<ArgumentException>(() => KernelInceptionDistance.UnbiasedMmd2(ok, [[1f, 2f], [float.NaN, 4f]]));
        StringAssert.Contains(nan.Message, "feature vector 1 of 'y' contains NaN", StringComparison.OrdinalIgnoreCase);
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => KernelInceptionDistance.Compute(ok, ok, subsets: 0));
    }

    private static float[][] Sample(Random random, int count, int d, double shift)
    {
        var set = new float[count][];
        for (int s = 0; s < count; s++)
        {
            set[s] = new float[d];
            for (int i = 0; i < d; i++)
                set[s][i] = (float)(shift + EvaluationTestData.Gaussian(random));
        }
        return set;
    }

    private static double Kernel(float[] a, float[] b)
    {
        double dot = 0;
        for (int i = 0; i < a.Length; i++)
            dot += (double)a[i] * b[i];
        return Math.Pow(dot / a.Length + 1, 3);
    }

    /// <summary>The biased V-statistic: every sum includes the diagonal and is divided by m^2, n^2 and mn.</summary>
    private static double BiasedMmd2(float[][] x, float[][] y)
    {
        double kxx = 0, kyy = 0, kxy = 0;
        foreach (float[] a in x)
        foreach (float[] b in x)
            kxx += Kernel(a, b);
        foreach (float[] a in y)
        foreach (float[] b in y)
            kyy += Kernel(a, b);
        foreach (float[] a in x)
        foreach (float[] b in y)
            kxy += Kernel(a, b);
        return kxx / (x.Length * x.Length) + kyy / (y.Length * y.Length) - 2 * kxy / (x.Length * y.Length);
    }

    private static (double Mean, double StandardError) MeanAndStandardError(double[] values)
    {
        double mean = values.Average();
        double variance = values.Sum(v => (v - mean) * (v - mean)) / (values.Length - 1);
        return (mean, Math.Sqrt(variance / values.Length));
    }
}
