using Diffusion.ML.Evaluation;
using static Diffusion.ML.Core.Tests.Evaluation.EvaluationTestData;

namespace Diffusion.ML.Core.Tests.Evaluation;

[TestClass]
public sealed class FrechetDistanceTests
{
    [TestMethod]
    public void StatisticsAgainstThemselvesGiveZero()
    {
        var random = new Random(10);
        const int d = 16;
        double[,] mixing = RandomSpd(random, d);
        var stats = new FeatureStatistics(d);
        var x = new float[d];
        for (int n = 0; n < 300; n++)
        {
            double[] z = RandomVector(random, d, 1);
            for (int i = 0; i < d; i++)
            {
                double sum = 0;
                for (int k = 0; k < d; k++)
                    sum += mixing[i, k] * z[k];
                x[i] = (float)sum;
            }
            stats.Add(x);
        }
        Assert.AreEqual(0, FrechetDistance.Compute(stats, stats), 1e-8);

        double[,] cov = RandomSpd(random, d);
        double[] mean = RandomVector(random, d, 1);
        Assert.AreEqual(0, FrechetDistance.Compute(mean, cov, mean, cov), 1e-8);
    }

    [TestMethod]
    public void DiagonalCovariancesMatchTheClosedForm()
    {
        var random = new Random(11);
        const int d = 5;
        double[] mu1 = RandomVector(random, d, 1), mu2 = RandomVector(random, d, 1);
        double[] s1 = new double[d], s2 = new double[d];
        var c1 = new double[d, d];
        var c2 = new double[d, d];
        double expected = SquaredDistance(mu1, mu2);
        for (int i = 0; i < d; i++)
        {
            s1[i] = 0.5 + 1.5 * random.NextDouble();
            s2[i] = 0.5 + 1.5 * random.NextDouble();
            c1[i, i] = s1[i] * s1[i];
            c2[i, i] = s2[i] * s2[i];
            expected += (s1[i] - s2[i]) * (s1[i] - s2[i]);
        }
        Assert.AreEqual(expected, FrechetDistance.Compute(mu1, c1, mu2, c2), 1e-12);
    }

    [TestMethod]
    public void CommutingCovariancesMatchTheClosedForm()
    {
        var random = new Random(12);
        const int d = 6;
        double[,] q = RandomOrthogonal(random, d);
        double[] a = new double[d], b = new double[d];
        for (int i = 0; i < d; i++)
        {
            a[i] = 0.1 + 3 * random.NextDouble();
            b[i] = 0.1 + 3 * random.NextDouble();
        }
        double[] mu1 = RandomVector(random, d, 1), mu2 = RandomVector(random, d, 1);
        double expected = SquaredDistance(mu1, mu2);
        for (int i = 0; i < d; i++)
            expected += (Math.Sqrt(a[i]) - Math.Sqrt(b[i])) * (Math.Sqrt(a[i]) - Math.Sqrt(b[i]));
        Assert.AreEqual(expected, FrechetDistance.Compute(mu1, Conjugate(q, a), mu2, Conjugate(q, b)), 1e-10);
    }

    [TestMethod]
    public void NonCommuting2x2MatchesTheClosedForm()
    {
        var random = new Random(13);
        for (int trial = 0; trial < 5; trial++)
        {
            double[,] c1 = RandomSpd(random, 2), c2 = RandomSpd(random, 2);
            double[] mu1 = RandomVector(random, 2, 1), mu2 = RandomVector(random, 2, 1);
            // C1 C2 has the eigenvalues of the PSD C1^{1/2} C2 C1^{1/2}, and for a 2x2 PSD M: Tr sqrt(M) = sqrt(Tr M + 2 sqrt(det M)).
            double traceProduct = c1[0, 0] * c2[0, 0] + c1[0, 1] * c2[1, 0] + c1[1, 0] * c2[0, 1] + c1[1, 1] * c2[1, 1];
            double detProduct = (c1[0, 0] * c1[1, 1] - c1[0, 1] * c1[1, 0]) * (c2[0, 0] * c2[1, 1] - c2[0, 1] * c2[1, 0]);
            double traceSqrt = Math.Sqrt(traceProduct + 2 * Math.Sqrt(detProduct));
            double expected = SquaredDistance(mu1, mu2) + c1[0, 0] + c1[1, 1] + c2[0, 0] + c2[1, 1] - 2 * traceSqrt;
            Assert.AreEqual(expected, FrechetDistance.Compute(mu1, c1, mu2, c2), 1e-12, $"trial {trial}");
        }
    }

    [TestMethod]
    public void SampledStatisticsApproachTheAnalyticValue()
    {
        var random = new Random(14);
        const int n = 20000;
        double[,] l1 = { { 1, 0, 0, 0 }, { 0.5, 1, 0, 0 }, { -0.3, 0.2, 0.8, 0 }, { 0.1, -0.4, 0.3, 1.2 } };
        double[,] l2 = { { 1.5, 0, 0, 0 }, { -0.2, 0.7, 0, 0 }, { 0.4, 0.1, 1.1, 0 }, { 0, 0.3, -0.5, 0.6 } };
        double[] mu1 = [0, 0.5, -1, 0], mu2 = [1, 0, -0.5, 0.5];
        var a = Sample(random, mu1, l1, n);
        var b = Sample(random, mu2, l2, n);
        double analytic = FrechetDistance.Compute(mu1, Covariance(l1), mu2, Covariance(l2));
        Assert.AreEqual(analytic, FrechetDistance.Compute(a, b), 0.03 * analytic);
    }

    [TestMethod]
    public void RejectsBadShapesAsymmetryAndTooFewVectors()
    {
        double[] mean = [0, 0];
        double[,] identity = { { 1, 0 }, { 0, 1 } };
        Assert.ThrowsExactly<ArgumentException>(() => FrechetDistance.Compute(mean, identity, [0, 0, 0], identity));
        Assert.ThrowsExactly<ArgumentException>(() => FrechetDistance.Compute(mean, identity, mean, new double[3, 3]));
        Assert.ThrowsExactly<ArgumentException>(() => FrechetDistance.Compute(mean, identity, mean, new double[,] { { 1, 0.5 }, { 0, 1 } }));
        var one = new FeatureStatistics(2);
        one.Add([1f, 2f]);
        Assert.ThrowsExactly<ArgumentException>(() => FrechetDistance.Compute(one, one));
    }

    private static FeatureStatistics Sample(Random random, double[] mu, double[,] l, int n)
    {
        int d = mu.Length;
        var stats = new FeatureStatistics(d);
        var x = new float[d];
        for (int s = 0; s < n; s++)
        {
            double[] z = RandomVector(random, d, 1);
            for (int i = 0; i < d; i++)
            {
                double sum = mu[i];
                for (int k = 0; k <= i; k++)
                    sum += l[i, k] * z[k];
                x[i] = (float)sum;
            }
            stats.Add(x);
        }
        return stats;
    }

    private static double[,] Covariance(double[,] l)
    {
        int d = l.GetLength(0);
        var c = new double[d, d];
        for (int i = 0; i < d; i++)
        for (int j = 0; j < d; j++)
            for (int k = 0; k < d; k++)
                c[i, j] += l[i, k] * l[j, k];
        return c;
    }
}
