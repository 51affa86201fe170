using Diffusion.ML.Sampling;
using Diffusion.ML.Schedules;
using Diffusion.ML.ScoreSde;

namespace Diffusion.ML.Core.Tests.ScoreSde;

/// <summary>
/// Log-likelihoods from the probability-flow ODE (Song et al. 2021, sec. 4.3) against the exact density of Gaussian data:
/// for x_0 ~ N(mu, Sigma), p_eps = N(m mu, m^2 Sigma + std^2 I) with m, std of the SDE at eps, and the exact denoiser's
/// score is that density's. A rotated covariance makes the Jacobian of eps dense, so Hutchinson's estimator is really random.
/// </summary>
[TestClass]
public sealed class ProbabilityFlowLikelihoodTests
{
    private static readonly NoiseSchedule Linear = new(new NoiseScheduleOptions());
    private static readonly double[] Mu = [0.3, -0.5, 0.8];
    private static readonly double[] Lambda = [0.25, 1.0, 0.09]; // eigenvalues of Sigma
    private static readonly double[,] R = Rotation();

    public TestContext TestContext { get; set; } = null!;
    private static double[,] Rotation()
    {
        // R = R_z(0.7) R_x(-1.1): an arbitrary rotation, so Sigma = R diag(lambda) R^T is dense.
        double a = 0.7, b = -1.1;
        double[,] rz = { { Math.Cos(a), -Math.Sin(a), 0 }, { Math.Sin(a), Math.Cos(a), 0 }, { 0, 0, 1 } };
        double[,] rx = { { 1, 0, 0 }, { 0, Math.Cos(b), -Math.Sin(b) }, { 0, Math.Sin(b), Math.Cos(b) } };
        var r = new double[3, 3];
        for (int i = 0; i < 3; i++) for (int j = 0; j < 3; j++) for (int k = 0; k < 3; k++) r[i, j] += rz[i, k] * rx[k, j];
        return r;
    }

    /// <summary>E[eps | x_t] = sqrt(1 - abar) R diag(1 / (abar lambda + 1 - abar)) R^T (x_t - sqrt(abar) mu).</summary>
    private static IDenoiser RotatedGaussian() => new DelegateDenoiser([3], PredictionType.Epsilon, (x, t, _, output) =>
    {
        for (int b = 0; b < t.Length; b++)
        {
            double abar = Linear.InterpolatedAlphaBar(t[b]);
            var w = new double[3];
            for (int j = 0; j < 3; j++)
                for (int i = 0; i < 3; i++) w[j] += R[i, j] * (x[3 * b + i] - Math.Sqrt(abar) * Mu[i]);
            for (int j = 0; j < 3; j++) w[j] *= Math.Sqrt(1 - abar) / (abar * Lambda[j] + 1 - abar);
            for (int i = 0; i < 3; i++) output[3 * b + i] = (float)(R[i, 0] * w[0] + R[i, 1] * w[1] + R[i, 2] * w[2]);
        }
    });

    /// <summary>Draws from the data distribution N(mu, R diag(lambda) R^T).</summary>
    private static float[] Data(int count)
    {
        var data = new float[3 * count];
        for (int k = 0; k < count; k++)
        {
            var noise = new SampleNoise(99, k);
            double[] z = [noise.NextStandardNormal() * Math.Sqrt(Lambda[0]), noise.NextStandardNormal() * Math.Sqrt(Lambda[1]), noise.NextStandardNormal() * Math.Sqrt(Lambda[2])];
            for (int i = 0; i < 3; i++) data[3 * k + i] = (float)(Mu[i] + R[i, 0] * z[0] + R[i, 1] * z[1] + R[i, 2] * z[2]);
        }
        return data;
    }

    /// <summary>log N(x; m mu, m^2 Sigma + std^2 I), the exact log p_eps.</summary>
    private static double ExactLogDensity(Sde sde, double eps, ReadOnlySpan<float> x)
    {
        double m = sde.MeanCoefficient(eps), s = sde.MarginalStd(eps), result = 0;
        for (int j = 0; j < 3; j++)
        {
            double w = 0;
            for (int i = 0; i < 3; i++) w += R[i, j] * (x[i] - m * Mu[i]);
            double variance = m * m * Lambda[j] + s * s;
            result -= 0.5 * (Math.Log(2 * Math.PI * variance) + w * w / variance);
        }
        return result;
    }

    /// <summary>
    /// log N(x(1); 0, PriorStd^2) - log p_1(x(1)) at the exact ODE end point x(1) = m_1 mu + R diag(sqrt(V_1 / V_eps)) R^T
    /// (x - m_eps mu): what the prior's mismatch to the true p_1 adds to the ODE's answer (m_1 = 0.006 for the linear schedule,
    /// so the prior's mean is off by m_1 mu).
    /// </summary>
    private static double PriorMismatch(Sde sde, double eps, ReadOnlySpan<float> x)
    {
        double mEps = sde.MeanCoefficient(eps), sEps = sde.MarginalStd(eps), m1 = sde.MeanCoefficient(1), s1 = sde.MarginalStd(1);
        var end = new double[3];
        double trueLog = 0;
        for (int j = 0; j < 3; j++)
        {
            double w = 0;
            for (int i = 0; i < 3; i++) w += R[i, j] * (x[i] - mEps * Mu[i]);
            double v1 = m1 * m1 * Lambda[j] + s1 * s1, w1 = w * Math.Sqrt(v1 / (mEps * mEps * Lambda[j] + sEps * sEps));
            trueLog -= 0.5 * (Math.Log(2 * Math.PI * v1) + w1 * w1 / v1);
            for (int i = 0; i < 3; i++) end[i] += R[i, j] * w1;
        }
        for (int i = 0; i < 3; i++) end[i] += m1 * Mu[i];
        return sde.PriorLogDensity(end) - trueLog;
    }

    private (double[] Exact, LikelihoodResult Result) Evaluate(ProbabilityFlowLikelihood likelihood, float[] data)
    {
        LikelihoodResult result = likelihood.Evaluate(data, seed: 17);
        int n = data.Length / 3;
        double[] exact = Enumerable.Range(0, n).Select(k => ExactLogDensity(likelihood.Sde, likelihood.Eps, data.AsSpan(3 * k, 3))).ToArray();
        return (exact, result);
    }

    [TestMethod]
    public void ExactTraceMatchesTheGaussianLogDensityPerSample()
    {
        float[] data = Data(48);
        foreach (Sde? sde in new Sde?[] { null, new VpSde(), new SubVpSde(), new VeSde() })
        {
            var likelihood = new ProbabilityFlowLikelihood(RotatedGaussian(), Linear, sde, DivergenceEstimator.ExactTrace);
            (double[] exact, LikelihoodResult result) = Evaluate(likelihood, data);
            double worst = 0, worstRelative = 0, worstSolver = 0;
            for (int k = 0; k < exact.Length; k++)
            {
                double error = Math.Abs(result.LogLikelihoods[k] - exact[k]);
                worstSolver = Math.Max(worstSolver, Math.Abs(result.LogLikelihoods[k] - exact[k] - PriorMismatch(likelihood.Sde, likelihood.Eps, data.AsSpan(3 * k, 3))));
                worst = Math.Max(worst, error);
                worstRelative = Math.Max(worstRelative, error / Math.Abs(exact[k]));
            }
            double exactMean = exact.Average();
            TestContext.WriteLine($"{likelihood.Sde.Name}, exact trace: mean log p {result.Mean:F5} (exact {exactMean:F5}, SE {result.StandardError:F3}); " +
                $"worst sample error {worst:E2} ({worstRelative:P3}), {worstSolver:E2} after the prior's mismatch; " +
                $"{result.FunctionEvaluations.Average():F0} drift evaluations x {result.RowsPerEvaluation} rows per sample");
            // VE's prior N(0, 50^2) ignores the data mean, and the flow magnifies x - mu by 50 / sqrt(lambda) on the way to
            // t = 1, so its prior mismatch alone reaches 1.5% on some samples (0.2% on the mean); the VP family's stays under 0.5%.
            if (likelihood.Sde is not VeSde)
                for (int k = 0; k < exact.Length; k++)
                    Assert.AreEqual(exact[k], result.LogLikelihoods[k], 0.01 * Math.Abs(exact[k]), $"{likelihood.Sde.Name}: sample {k}");
            Assert.AreEqual(exactMean, result.Mean, 0.01 * Math.Abs(exactMean));
            Assert.IsLessThan(1e-3, worstSolver, "the ODE's answer, up to the prior's known mismatch");
        }
    }

    [TestMethod]
    [DataRow(DivergenceEstimator.HutchinsonRademacher)]
    [DataRow(DivergenceEstimator.HutchinsonGaussian)]
    public void HutchinsonIsUnbiasedWithinItsStandardError(DivergenceEstimator estimator)
    {
        float[] data = Data(256);
        (double[] exact, LikelihoodResult result) = Evaluate(new ProbabilityFlowLikelihood(RotatedGaussian(), Linear, divergence: estimator), data);
        // The Hutchinson noise per sample: differences to the exact density, their mean within 3 standard errors of 0.
        double[] differences = exact.Select((e, k) => result.LogLikelihoods[k] - e).ToArray();
        double meanDifference = differences.Average();
        double se = Math.Sqrt(differences.Sum(v => (v - meanDifference) * (v - meanDifference)) / (differences.Length - 1) / differences.Length);
        double exactMean = exact.Average();
        TestContext.WriteLine($"{estimator}: mean log p {result.Mean:F4} +- {result.StandardError:F4} (exact {exactMean:F4}); " +
            $"mean difference {meanDifference:E2} +- {se:E2}, per-sample noise sd {se * Math.Sqrt(differences.Length):F4}; " +
            $"{result.FunctionEvaluations.Average():F0} drift evaluations x {result.RowsPerEvaluation} rows per sample");
        Assert.IsGreaterThan(1e-3, se, "the estimator is really random here (dense Jacobian)");
        Assert.AreEqual(0, meanDifference, 3 * se, "unbiased within 3 SE");
        Assert.AreEqual(exactMean, result.Mean, 3 * result.StandardError, "mean within its SE");
    }

    [TestMethod]
    public void RademacherIsExactForADiagonalJacobianAndBatchesDoNotMatter()
    {
        // Independent coordinates: v^T J v = sum v_i^2 J_ii = tr J for v in {-1, 1}^D.
        double[] mean = [0.3, -0.5], std = [0.5, 1.0];
        var likelihood = new ProbabilityFlowLikelihood(new GaussianDataDenoiser(Linear, mean, std), Linear, batchSize: 5);
        var data = new float[2 * 10];
        for (int k = 0; k < 10; k++)
        {
            var noise = new SampleNoise(3, k);
            for (int i = 0; i < 2; i++) data[2 * k + i] = (float)(mean[i] + std[i] * noise.NextStandardNormal());
        }
        LikelihoodResult result = likelihood.Evaluate(data, seed: 1);
        double m = likelihood.Sde.MeanCoefficient(likelihood.Eps), s = likelihood.Sde.MarginalStd(likelihood.Eps);
        for (int k = 0; k < 10; k++)
        {
            double exact = 0;
            for (int i = 0; i < 2; i++)
            {
                double variance = m * m * std[i] * std[i] + s * s;
                exact -= 0.5 * (Math.Log(2 * Math.PI * variance) + Math.Pow(data[2 * k + i] - m * mean[i], 2) / variance);
            }
            Assert.AreEqual(exact, result.LogLikelihoods[k], 1e-3 + 0.002 * Math.Abs(exact), $"sample {k}");
        }
        var one = new ProbabilityFlowLikelihood(new GaussianDataDenoiser(Linear, mean, std), Linear, batchSize: 1).Evaluate(data, seed: 1);
        CollectionAssert.AreEqual(result.LogLikelihoods.ToArray(), one.LogLikelihoods.ToArray(), "batch size never changes a sample");
        // Continuous data: nats per dimension. Bits per dimension of dequantised data: -(log p + D log w) / (D log 2).
        Assert.AreEqual(-result.Mean / 2, result.NatsPerDimension, 1e-15);
        Assert.AreEqual(-(result.Mean + 2 * Math.Log(2 / 256.0)) / (2 * Math.Log(2)), result.BitsPerDimension(2 / 256.0), 1e-12);
        Assert.AreEqual(-result.Mean / (2 * Math.Log(2)) + 7, result.BitsPerDimension(2 / 256.0), 1e-12, "the paper's -log p / (D log 2) + 7");
    }

    [TestMethod]
    public void DequantizeSpreadsEachLevelOverItsBin()
    {
        float[] levels = [-1, 1, 2 * 100 / 255f - 1];
        float[] x = (float[])levels.Clone();
        ProbabilityFlowLikelihood.Dequantize(x, sampleSize: 3, levels: 256, seed: 4);
        int[] k = [0, 255, 100];
        for (int i = 0; i < 3; i++)
        {
            Assert.IsGreaterThanOrEqualTo(-1 + 2 * k[i] / 256.0 - 1e-6, x[i], $"value {i} above its bin's start");
            Assert.IsLessThanOrEqualTo(-1 + 2 * (k[i] + 1) / 256.0 + 1e-6, x[i], $"value {i} below its bin's end");
        }
    }
}
