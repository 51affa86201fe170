using Diffusion.ML.Sampling;
using Diffusion.ML.Schedules;
using Diffusion.ML.ScoreSde;

namespace Diffusion.ML.Core.Tests.ScoreSde;

/// <summary>
/// The score-SDE samplers (Song et al. 2021) on the exact denoiser of Gaussian data N(mu, s^2). With v(t) = m^2 s^2 + std^2
/// the probability-flow ODE moves u = x - m(t) mu as u(t) = u(1) sqrt(v(t) / v(1)), and Tweedie's estimate at eps is
/// mu + m s^2 (x - m mu) / v; Euler-Maruyama is an affine map plus Gaussian noise, so its output moments follow a
/// closed-form recursion.
/// </summary>
[TestClass]
public sealed class ScoreSdeSamplerTests
{
    private static readonly NoiseSchedule Linear = new(new NoiseScheduleOptions());
    private static readonly double[] Mean = [0.3, -0.5];
    private static readonly double[] Std = [0.5, 1.0];

    public TestContext TestContext { get; set; } = null!;

    /// <summary>Runs the sampler on x_T (pairs of coordinates) through a context, returning the samples and the evaluation count.</summary>
    private static (double[] X, int Evaluations) Run(ISampler sampler, float[] xT, int timestepCount = 1)
    {
        var denoiser = new GaussianDataDenoiser(Linear, Mean, Std);
        int[] timesteps = InferenceTimesteps.Create(1000, timestepCount, TimestepSpacing.Linspace);
        var context = new SamplingContext(denoiser, Linear, new GenerationOptions { ClipSample = false }, timesteps, 0, xT.Length / 2,
            _ => { }, CancellationToken.None);
        float[] x = (float[])xT.Clone();
        sampler.Sample(context, x);
        return (x.Select(v => (double)v).ToArray(), context.Evaluations);
    }

    private static float[] Draws(int count, long seed = 7)
    {
        var x = new float[2 * count];
        for (int k = 0; k < count; k++) new SampleNoise(seed, k).FillStandardNormal(x.AsSpan(2 * k, 2));
        return x;
    }

    /// <summary>The exact probability-flow map from x(1) = PriorStd x_T to x(eps), then optionally Tweedie's x_0 estimate.</summary>
    private static double Exact(Sde sde, double xT, int coordinate, double eps, bool denoise)
    {
        double mu = Mean[coordinate], s = Std[coordinate];
        double V(double t) => Math.Pow(sde.MeanCoefficient(t) * s, 2) + Math.Pow(sde.MarginalStd(t), 2);
        double m1 = sde.MeanCoefficient(1), mEps = sde.MeanCoefficient(eps);
        double xEps = mEps * mu + Math.Sqrt(V(eps) / V(1)) * (sde.PriorStd * xT - m1 * mu);
        return denoise ? mu + mEps * s * s * (xEps - mEps * mu) / V(eps) : xEps;
    }

    private static double MaxError(ProbabilityFlowOdeSampler sampler, Sde sde, float[] xT, out int evaluations)
    {
        (double[] x, evaluations) = Run(sampler, xT);
        double eps = sampler.Eps ?? sde.DefaultEps, error = 0;
        for (int k = 0; k < x.Length; k++) error = Math.Max(error, Math.Abs(x[k] - Exact(sde, xT[k], k % 2, eps, sampler.Denoise)));
        return error;
    }

    [TestMethod]
    public void ProbabilityFlowRk45ReproducesTheExactGaussianMap()
    {
        float[] xT = Draws(16);
        var sde = new ScheduleVpSde(Linear);
        // Default: Tweedie's estimate at eps = 1/T, i.e. x_0 = mu + m s^2 (x_T - m_1 mu) / sqrt(v(eps) v(1)).
        double[] tolerances = [1e-4, 1e-5, 1e-6];
        var errors = new double[tolerances.Length];
        for (int i = 0; i < tolerances.Length; i++)
        {
            errors[i] = MaxError(new ProbabilityFlowOdeSampler(rtol: tolerances[i], atol: tolerances[i]), sde, xT, out int evaluations);
            TestContext.WriteLine($"rtol = atol = {tolerances[i]:E0}: max error {errors[i]:E2}, {evaluations} model evaluations (batch of 16, per-sample steps)");
        }
        Assert.IsLessThan(1e-4, errors[1], "the default tolerance 1e-5: a global error of a few tolerances");
        for (int i = 0; i + 1 < tolerances.Length; i++) Assert.IsLessThan(errors[i], errors[i + 1], "a tighter tolerance gives a smaller error");
        Assert.IsLessThan(1e-5, errors[2]);

        // Without denoising: x(eps) itself. The brief's x_0 = mu + s (x_T - alpha mu) / sqrt(alpha^2 s^2 + sigma^2) is the
        // eps -> 0 limit; at eps = 1/T both maps differ from it by O(beta_0) = 1e-4.
        double raw = MaxError(new ProbabilityFlowOdeSampler(denoise: false), sde, xT, out _);
        TestContext.WriteLine($"x(eps) without denoising: max error {raw:E2}");
        Assert.IsLessThan(1e-4, raw);
        (double[] x, _) = Run(new ProbabilityFlowOdeSampler(), xT);
        double abar = Linear.AlphaBar[999], limit = 0;
        for (int k = 0; k < x.Length; k++)
        {
            double mu = Mean[k % 2], s = Std[k % 2];
            limit = Math.Max(limit, Math.Abs(x[k] - (mu + s * (xT[k] - Math.Sqrt(abar) * mu) / Math.Sqrt(abar * s * s + 1 - abar))));
        }
        TestContext.WriteLine($"against the eps -> 0 map: {limit:E2}");
        Assert.IsLessThan(2e-3, limit);
    }

    [TestMethod]
    public void ProbabilityFlowRk45OnVpSubVpAndVe()
    {
        float[] xT = Draws(8);
        foreach (Sde sde in new Sde[] { new VpSde(), new SubVpSde(), new VeSde() })
            foreach (bool denoise in new[] { false, true })
            {
                double error = MaxError(new ProbabilityFlowOdeSampler(sde: sde, denoise: denoise), sde, xT, out int evaluations);
                TestContext.WriteLine($"{sde.Name}, denoise {denoise}: max error {error:E2}, {evaluations} evaluations");
                Assert.IsLessThan(sde is VeSde && !denoise ? 1e-3 : 2e-4, error, $"{sde.Name}, denoise {denoise}");
            }
    }

    [TestMethod]
    public void BatchSizeNeverChangesASample()
    {
        var pipeline = new DiffusionPipeline(new GaussianDataDenoiser(Linear, Mean, Std), Linear);
        var options = new GenerationOptions { Count = 7, NumInferenceSteps = 12, Seed = 5, ClipSample = false };
        foreach (ISampler sampler in new ISampler[] { new ProbabilityFlowOdeSampler(), new EulerMaruyamaSdeSampler(), new PredictorCorrectorSampler(),
                     new PredictorCorrectorSampler(SdePredictor.EulerMaruyama, 2, sde: new VeSde()) })
        {
            float[] one = pipeline.Generate(sampler, options with { BatchSize = 1 });
            float[] seven = pipeline.Generate(sampler, options with { BatchSize = 7 });
            CollectionAssert.AreEqual(one, seven, sampler.Name);
        }
        // One controller for the whole batch (the paper's convention): equal only within the tolerance.
        var shared = new ProbabilityFlowOdeSampler(sharedStepSize: true);
        float[] a = pipeline.Generate(shared, options with { BatchSize = 1 }), b = pipeline.Generate(shared, options with { BatchSize = 7 });
        double difference = a.Zip(b, (u, v) => Math.Abs(u - v)).Max();
        TestContext.WriteLine($"shared step size, batch 1 vs 7: max difference {difference:E2}");
        Assert.IsLessThan(1e-3, difference);
    }

    [TestMethod]
    public void EulerMaruyamaMatchesItsGaussianChainAndTheData()
    {
        const int n = 4096, steps = 100;
        var pipeline = new DiffusionPipeline(new GaussianDataDenoiser(Linear, Mean, Std), Linear);
        float[] x = pipeline.Generate(new EulerMaruyamaSdeSampler(),
            new GenerationOptions { Count = n, BatchSize = 512, NumInferenceSteps = steps, ClipSample = false, Seed = 3 });
        var sde = new ScheduleVpSde(Linear);
        for (int i = 0; i < 2; i++)
        {
            double mu = Mean[i], s2 = Std[i] * Std[i];
            // x' = A x + B + g sqrt(dt) z with A = 1 - f dt - g^2 dt / v, B = g^2 dt m mu / v (score = -(x - m mu) / v).
            double m = 0, v = 1;
            for (int k = 0; k < steps; k++)
            {
                double t = 1 - k / (double)steps, dt = 1.0 / steps, f = sde.DriftCoefficient(t), g2 = Math.Pow(sde.Diffusion(t), 2);
                double mt = sde.MeanCoefficient(t), vt = mt * mt * s2 + Math.Pow(sde.MarginalStd(t), 2);
                double a = 1 - f * dt - g2 * dt / vt;
                m = a * m + g2 * dt * mt * mu / vt;
                v = a * a * v + (k < steps - 1 ? g2 * dt : 0);
            }
            AssertMoments("sde-euler-maruyama", x, 2, i, m, v, mu, s2, expectBias: false);
        }
    }

    [TestMethod]
    public void PredictorCorrectorMatchesItsChainAndTheDataGaussian()
    {
        // 16 coordinates (alternating two Gaussians): the corrector's step 2 alpha (r ||z|| / ||s||)^2 uses per-sample norms,
        // which need a few dimensions to concentrate (for D = 2, E[1 / ||s||^2] is infinite).
        const int n = 4096, steps = 100, d = 16;
        double[] mean = Enumerable.Range(0, d).Select(i => Mean[i % 2]).ToArray(), std = Enumerable.Range(0, d).Select(i => Std[i % 2]).ToArray();
        var pipeline = new DiffusionPipeline(new GaussianDataDenoiser(Linear, mean, std), Linear);
        var options = new GenerationOptions { Count = n, BatchSize = 512, NumInferenceSteps = steps, ClipSample = false, Seed = 4 };
        var sde = new ScheduleVpSde(Linear);
        // Reverse-diffusion predictor alone: x' = A x + B + sqrt(b) z with A = 2 - a - b / v, B = b m mu / v.
        float[] predictorOnly = pipeline.Generate(new PredictorCorrectorSampler(correctorSteps: 0), options);
        var chain = new (double Mean, double Variance)[2];
        for (int i = 0; i < 2; i++)
        {
            double mu = Mean[i], s2 = Std[i] * Std[i], m = 0, v = 1;
            for (int k = 0; k < steps; k++)
            {
                double t = 1 - k / (double)steps, next = 1 - (k + 1) / (double)steps, mt = sde.MeanCoefficient(t);
                double a = mt / sde.MeanCoefficient(next), b = Math.Pow(sde.MarginalStd(t), 2) - a * a * Math.Pow(sde.MarginalStd(next), 2);
                double vt = mt * mt * s2 + Math.Pow(sde.MarginalStd(t), 2), gain = 2 - a - b / vt;
                m = gain * m + b * mt * mu / vt;
                v = gain * gain * v + (k < steps - 1 ? b : 0);
            }
            chain[i] = (m, v);
            // The chain itself is off the data at 100 steps (variance +5% for s = 0.5: first-order discretisation bias).
            AssertMoments("reverse diffusion", predictorOnly, d, i, m, v, mu, s2, expectBias: true);
        }
        // With a weak corrector (r = 0.01) the output stays on the predictor's chain.
        float[] weak = pipeline.Generate(new PredictorCorrectorSampler(snr: 0.01), options);
        for (int i = 0; i < 2; i++) AssertMoments("sde-pc, r = 0.01", weak, d, i, chain[i].Mean, chain[i].Variance, Mean[i], Std[i] * Std[i], expectBias: true);
        // The paper's r = 0.16 (tuned for VE) visibly inflates the variance of this VP run: Langevin steps at every grid
        // time, each at the unadjusted-Langevin bias, add up along the 100 steps.
        float[] strong = pipeline.Generate(new PredictorCorrectorSampler(), options);
        double inflation = Variance(strong, d, 0) / chain[0].Variance;
        TestContext.WriteLine($"sde-pc, r = 0.16: variance of coordinate 0 is {inflation:F3} x the predictor chain's");
        Assert.IsGreaterThan(1.1, inflation);
    }

    private static double Variance(float[] x, int d, int coordinate)
    {
        int n = x.Length / d;
        double mean = 0, variance = 0;
        for (int k = 0; k < n; k++) mean += x[k * d + coordinate];
        mean /= n;
        for (int k = 0; k < n; k++) variance += Math.Pow(x[k * d + coordinate] - mean, 2);
        return variance / (n - 1);
    }

    [TestMethod]
    public void ModelEvaluationsAndNames()
    {
        float[] xT = Draws(2);
        foreach (int steps in new[] { 1, 3, 10 })
        {
            Assert.AreEqual(steps, Run(new EulerMaruyamaSdeSampler(), xT, steps).Evaluations);
            Assert.AreEqual(new PredictorCorrectorSampler(correctorSteps: 2).ModelEvaluations(steps),
                Run(new PredictorCorrectorSampler(correctorSteps: 2), xT, steps).Evaluations);
        }
        Assert.AreEqual(30, new PredictorCorrectorSampler(correctorSteps: 2).ModelEvaluations(10));
        int rk45 = Run(new ProbabilityFlowOdeSampler(), Draws(1)).Evaluations;
        TestContext.WriteLine($"pf-ode-rk45, one sample: {rk45} model evaluations (reported estimate {new ProbabilityFlowOdeSampler().ModelEvaluations(50)})");
        Assert.AreEqual(0, (rk45 - 2) % 6, "2 for the starting step, then 6 per attempted step");
        foreach (string name in new[] { "sde-euler-maruyama", "sde-pc", "pf-ode-rk45" })
        {
            CollectionAssert.Contains(Samplers.Names.ToList(), name);
            Assert.AreEqual(name, Samplers.Create(name.ToUpperInvariant()).Name);
        }
    }

    private void AssertMoments(string name, float[] x, int d, int coordinate, double chainMean, double chainVariance, double mu, double s2, bool expectBias)
    {
        int n = x.Length / d;
        double sampleMean = 0, sampleVariance = 0;
        for (int k = 0; k < n; k++) sampleMean += x[k * d + coordinate];
        sampleMean /= n;
        for (int k = 0; k < n; k++) sampleVariance += Math.Pow(x[k * d + coordinate] - sampleMean, 2);
        sampleVariance /= n - 1;
        double seMean = Math.Sqrt(chainVariance / n), seVar = chainVariance * Math.Sqrt(2.0 / (n - 1));
        TestContext.WriteLine($"{name}, coordinate {coordinate}: sample mean {sampleMean:F4}, variance {sampleVariance:F4}; " +
            $"chain {chainMean:F4}, {chainVariance:F4}; data {mu}, {s2}; SE {seMean:F4}, {seVar:F4}");
        Assert.AreEqual(chainMean, sampleMean, 3 * seMean, $"{name}: mean of coordinate {coordinate} vs the chain");
        Assert.AreEqual(chainVariance, sampleVariance, 3 * seVar, $"{name}: variance of coordinate {coordinate} vs the chain");
        if (expectBias) return;
        Assert.AreEqual(mu, sampleMean, 3 * Math.Sqrt(s2 / n), $"{name}: mean of coordinate {coordinate} vs the data");
        Assert.AreEqual(s2, sampleVariance, 3 * s2 * Math.Sqrt(2.0 / (n - 1)), $"{name}: variance of coordinate {coordinate} vs the data");
    }
}
