using Diffusion.ML.Evaluation;
using Diffusion.ML.Sampling;
using Diffusion.ML.Schedules;

namespace Diffusion.ML.Core.Tests.Evaluation;

/// <summary>
/// The closed-form terms of the bound against independent computations: the posterior from Bayes' rule on the betas
/// (not the schedule's coefficients) and the KL by numerical integration of q log(q / p).
/// </summary>
[TestClass]
public sealed class DiffusionLikelihoodTests
{
    private static readonly NoiseSchedule Schedule = new(new NoiseScheduleOptions());

    [TestMethod]
    [DataRow(1, DdpmVarianceType.FixedSmall)]
    [DataRow(10, DdpmVarianceType.FixedSmall)]
    [DataRow(500, DdpmVarianceType.FixedSmall)]
    [DataRow(999, DdpmVarianceType.FixedSmall)]
    [DataRow(10, DdpmVarianceType.FixedLarge)]
    [DataRow(500, DdpmVarianceType.FixedLarge)]
    public void DiffusionTermMatchesBayesRuleAndNumericalKl(int t, DdpmVarianceType varianceType)
    {
        float[] x0 = [0.3f, -0.7f, 0.05f], x0Hat = [0.25f, -0.6f, 0.1f];
        double[] betas = [.. Schedule.Betas];
        double abarT = 1, abarPrev = 1;
        for (int s = 0; s <= t; s++)
        {
            abarPrev = abarT;
            abarT *= 1 - betas[s];
        }
        var random = new Random(t);
        var xt = x0.Select(v => (float)(Math.Sqrt(abarT) * v + Math.Sqrt(1 - abarT) * EvaluationTestData.Gaussian(random))).ToArray();

        // q(x_{t-1} | x_t, x_0) ∝ N(x_{t-1}; sqrt(abar_{t-1}) x_0, 1 - abar_{t-1}) N(x_t; sqrt(alpha_t) x_{t-1}, beta_t).
        double beta = betas[t], alpha = 1 - beta;
        double precision = 1 / (1 - abarPrev) + alpha / beta, variance = 1 / precision;
        double Mean(double x0Value, double xtValue) => variance * (Math.Sqrt(abarPrev) * x0Value / (1 - abarPrev) + Math.Sqrt(alpha) * xtValue / beta);
        double modelVariance = varianceType == DdpmVarianceType.FixedSmall ? variance : beta;

        double expected = 0;
        for (int i = 0; i < x0.Length; i++)
            expected += NumericalKl(Mean(x0[i], xt[i]), variance, Mean(x0Hat[i], xt[i]), modelVariance);

        double actual = DiffusionLikelihood.DiffusionTermNats(Schedule, t, x0, xt, x0Hat, varianceType);
        Assert.IsTrue(expected > 0);
        Assert.AreEqual(expected, actual, 1e-7 * expected + 1e-9, $"KL at t={t}");
    }

    [TestMethod]
    public void PriorTermMatchesNumericalKl()
    {
        float[] x0 = [0.9f, -1f, 0f];
        double abar = Schedule.Betas.Aggregate(1.0, (p, b) => p * (1 - b));
        double expected = x0.Sum(v => NumericalKl(Math.Sqrt(abar) * v, 1 - abar, 0, 1));
        Assert.AreEqual(expected, DiffusionLikelihood.PriorNats(Schedule, x0), 1e-9);
        Assert.IsTrue(expected < 1e-4, "the linear T = 1000 schedule ends near N(0, I)");
    }

    [TestMethod]
    [DataRow(0.3, 0.0074)]
    [DataRow(0.0, 1.0)]
    [DataRow(-0.99, 0.01)]
    [DataRow(-1.5, 0.01)]
    [DataRow(3.0, 1e-3)]
    [DataRow(0.0, 50.0)]
    [DataRow(0.5, 1e-6)]
    public void DecoderBinProbabilitiesSumToOne(double mean, double std)
    {
        double sum = 0;
        for (int k = 0; k < 256; k++)
        {
            double logP = DiffusionLikelihood.DiscretizedGaussianLogLikelihood(2.0 * k / 255 - 1, mean, Math.Log(std));
            Assert.IsTrue(logP <= 0 && !double.IsNaN(logP), $"bin {k}: {logP}");
            sum += Math.Exp(logP);
        }
        Assert.AreEqual(1.0, sum, 1e-12);
    }

    [TestMethod]
    public void DecoderUsesTheBinAroundEachValue()
    {
        // Interior bin [x - 1/255, x + 1/255] of N(mean, std^2), checked against the normal CDF by Simpson integration of the density.
        double x = 2.0 * 140 / 255 - 1, mean = 0.1, std = 0.02;
        double expected = Simpson(z => Math.Exp(-0.5 * z * z) / Math.Sqrt(2 * Math.PI), (x - 1.0 / 255 - mean) / std, (x + 1.0 / 255 - mean) / std, 200);
        Assert.AreEqual(Math.Log(expected), DiffusionLikelihood.DiscretizedGaussianLogLikelihood(x, mean, Math.Log(std)), 1e-10);

        // The decoder term of a sample: mean x0_hat (coef1 = 1, coef2 = 0 at index 0), log variance log beta-tilde_2 (clipped) or log beta_1.
        float[] x0 = [(float)x, -1f], x1 = [0.2f, -0.9f], x0Hat = [0.11f, -0.98f];
        foreach (var (variance, logVariance) in new[] { (DecoderVariance.ClippedPosterior, Math.Log(Schedule.PosteriorVariance[1])), (DecoderVariance.Beta, Math.Log(Schedule.Betas[0])) })
        {
            double expectedNats = -DiffusionLikelihood.DiscretizedGaussianLogLikelihood(x, x0Hat[0], logVariance / 2)
                                  - DiffusionLikelihood.DiscretizedGaussianLogLikelihood(-1, x0Hat[1], logVariance / 2);
            Assert.AreEqual(expectedNats, DiffusionLikelihood.DecoderNats(Schedule, x0, x1, x0Hat, variance), 1e-6, variance.ToString());
        }
    }

    [TestMethod]
    public void ModelLogVarianceFollowsHoEtAlsCode()
    {
        Assert.AreEqual(Math.Log(Schedule.PosteriorVariance[1]), DiffusionLikelihood.ModelLogVariance(Schedule, 0, DdpmVarianceType.FixedSmall), 1e-12);
        Assert.AreEqual(Math.Log(Schedule.PosteriorVariance[7]), DiffusionLikelihood.ModelLogVariance(Schedule, 7, DdpmVarianceType.FixedSmall), 1e-12);
        Assert.AreEqual(Math.Log(Schedule.PosteriorVariance[1]), DiffusionLikelihood.ModelLogVariance(Schedule, 0, DdpmVarianceType.FixedLarge), 1e-12);
        Assert.AreEqual(Math.Log(Schedule.Betas[7]), DiffusionLikelihood.ModelLogVariance(Schedule, 7, DdpmVarianceType.FixedLarge), 1e-12);
    }

    /// <summary>KL(N(m1, v1) || N(m2, v2)) = int q log(q / p) by Simpson's rule over m1 +- 12 sd.</summary>
    private static double NumericalKl(double m1, double v1, double m2, double v2)
    {
        double sd = Math.Sqrt(v1);
        double LogDensity(double x, double m, double v) => -0.5 * Math.Log(2 * Math.PI * v) - 0.5 * (x - m) * (x - m) / v;
        return Simpson(x => Math.Exp(LogDensity(x, m1, v1)) * (LogDensity(x, m1, v1) - LogDensity(x, m2, v2)), m1 - 12 * sd, m1 + 12 * sd, 4000);
    }

    private static double Simpson(Func<double, double> f, double a, double b, int intervals)
    {
        double h = (b - a) / intervals, sum = f(a) + f(b);
        for (int i = 1; i < intervals; i++) sum += (i % 2 == 1 ? 4 : 2) * f(a + i * h);
        return sum * h / 3;
    }
}
