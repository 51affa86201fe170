using Diffusion.ML.Evaluation;

namespace Diffusion.ML.Core.Tests.Evaluation;

[TestClass]
public sealed class FeatureStatisticsTests
{
    [TestMethod]
    public void StreamingMomentsMatchATwoPassComputation()
    {
        var random = new Random(20);
        const int d = 7, n = 500;
        var data = new float[n * d];
        for (int k = 0; k < data.Length; k++)
            data[k] = (float)(100 + 3 * EvaluationTestData.Gaussian(random)); // a large offset exercises cancellation

        var stats = new FeatureStatistics(d);
        stats.AddBatch(data.AsSpan(0, 200 * d));
        for (int s = 200; s < n; s++)
            stats.Add(data.AsSpan(s * d, d));

        var mean = new double[d];
        for (int s = 0; s < n; s++)
        for (int i = 0; i < d; i++)
            mean[i] += data[s * d + i];
        for (int i = 0; i < d; i++)
            mean[i] /= n;
        var cov = new double[d, d];
        for (int s = 0; s < n; s++)
        for (int i = 0; i < d; i++)
        for (int j = 0; j < d; j++)
            cov[i, j] += (data[s * d + i] - mean[i]) * (data[s * d + j] - mean[j]);

        Assert.AreEqual((long)n, stats.Count);
        double[] gotMean = stats.Mean;
        double[,] gotCov = stats.Covariance;
        for (int i = 0; i < d; i++)
        {
            Assert.AreEqual(mean[i], gotMean[i], 1e-10, $"mean[{i}]");
            for (int j = 0; j < d; j++)
                Assert.AreEqual(cov[i, j] / (n - 1), gotCov[i, j], 1e-10, $"cov[{i},{j}]");
        }
    }

    [TestMethod]
    public void RejectsNaNInfinityAndWrongDimension()
    {
        var stats = new FeatureStatistics(3);
        stats.Add([1f, 2f, 3f]);
        var nan = Assert.ThrowsExactly<ArgumentException>(() => stats.Add([1f, float.NaN, 3f]));
        StringAssert.Contains(nan.Message, "feature vector 1 contains NaN", StringComparison.OrdinalIgnoreCase);
        var batchNan = Assert.ThrowsExactly<ArgumentException>(() => stats.AddBatch([1f, 2f, 3f, 4f, 5f, float.NaN]));
        StringAssert.Contains(batchNan.Message, "feature vector 2 contains NaN", StringComparison.OrdinalIgnoreCase);
        Assert.ThrowsExactly<ArgumentException>(() => stats.Add([1f, float.PositiveInfinity, 3f]));
        Assert.ThrowsExactly<ArgumentException>(() => stats.Add([1f, 2f]));
        Assert.ThrowsExactly<ArgumentException>(() => stats.AddBatch([1f, 2f, 3f, 4f]));
        Assert.AreEqual(1L, stats.Count, "rejected vectors and batches are not added");
    }

    [TestMethod]
    public void CovarianceNeedsTwoVectors()
    {
        var stats = new FeatureStatistics(2);
        Assert.ThrowsExactly<InvalidOperationException>(() => stats.Mean);
        stats.Add([1f, 2f]);
        CollectionAssert.AreEqual(new[] { 1.0, 2.0 }, stats.Mean);
        Assert.ThrowsExactly<InvalidOperationException>(() => stats.Covariance);
    }
}
