using Diffusion.ML.Sampling;
using Diffusion.ML.Schedules;

namespace Diffusion.ML.Core.Tests.Sampling;

/// <summary>
/// DPM-Solver++ (2M, 3M, SDE-2M) and UniPC checked against closed forms. With the exact denoiser of Gaussian data
/// N(mu, s^2) every deterministic solver is an affine map x_T -&gt; a x_T + b, and so is the exact solution: the
/// probability-flow ODE carries x_t to x_u = alpha_u mu + sqrt(v_u / v_t) (x_t - alpha_t mu), v = alpha^2 s^2 + sigma^2, and
/// the last step returns the x_0 estimate at the last timestep, mu + alpha s^2 (x - alpha mu) / v.
/// </summary>
[TestClass]
public sealed class MultistepSolverTests
{
    private const int SampleCount = 4096;
    private static readonly double[] Mean = [0.3, -0.5];
    private static readonly double[] Std = [0.5, 0.2];
    private static readonly NoiseSchedule Linear = new(new NoiseScheduleOptions());

    private static ISampler Create(string key) => key switch
    {
        "dpm1" => new DpmSolverPlusPlusSampler(order: 1),
        "dpm2" => new DpmSolverPlusPlusSampler(order: 2),
        "dpm2-heun" => new DpmSolverPlusPlusSampler(order: 2, solverType: DpmSolverType.Heun),
        "dpm3" => new DpmSolverPlusPlusSampler(order: 3),
        "unipc1" => new UniPcSampler(order: 1),
        "unipc2" => new UniPcSampler(order: 2),
        "unipc2-bh1" => new UniPcSampler(order: 2, variant: UniPcVariant.Bh1),
        "unipc3" => new UniPcSampler(order: 3),
        _ => Samplers.Create(key),
    };

    /// <summary>Runs the sampler on the given x_T values (one coordinate of data N(mu, s^2)) and returns the samples.</summary>
    private static double[] Run(ISampler sampler, int[] timesteps, double mu, double s, params double[] xT)
    {
        var denoiser = new GaussianDataDenoiser(Linear, [mu], [s]);
        var context = new SamplingContext(denoiser, Linear, new GenerationOptions { ClipSample = false }, timesteps, 0, xT.Length,
            _ => { }, CancellationToken.None);
        float[] x = xT.Select(v => (float)v).ToArray();
        sampler.Sample(context, x);
        Assert.AreEqual(sampler.ModelEvaluations(timesteps.Length), context.Evaluations, "one model evaluation per step");
        return x.Select(v => (double)v).ToArray();
    }

    /// <summary>The exact map x_T -&gt; a x_T + b: the ODE from the first to the last timestep, then the x_0 estimate there.</summary>
    private static (double A, double B) ExactMap(int first, int last, double mu, double s)
    {
        double abarT = Linear.AlphaBar[first], abarL = Linear.AlphaBar[last];
        double vT = abarT * s * s + 1 - abarT, vL = abarL * s * s + 1 - abarL;
        double a = Math.Sqrt(abarL) * s * s / Math.Sqrt(vT * vL);
        return (a, mu - a * Math.Sqrt(abarT) * mu);
    }

    /// <summary>Largest error of the sampler's affine map (slope or intercept) on the grid 999, 999 - d, ..., 39 of n points.</summary>
    private static double MapError(string key, int n)
    {
        const double mu = 0.3, s = 0.5;
        int stride = 960 / (n - 1);
        int[] ts = Enumerable.Range(0, n).Select(k => 999 - k * stride).ToArray();
        double[] y = Run(Create(key), ts, mu, s, 0, 1);
        var (a, b) = ExactMap(ts[0], ts[^1], mu, s);
        return Math.Max(Math.Abs(y[1] - y[0] - a), Math.Abs(y[0] - b));
    }

    [TestMethod]
    // Timesteps uniform in t from 999 to 39 (960 / (n - 1) exactly, no rounding), where the step in lambda shrinks like 1/n
    // (near t = 0 it cannot: integer timesteps stop refining the log-SNR grid there). Observed ratios for n = 61 -> 121 -> 241:
    // DPM-Solver++(1) 2.0, 2.0; 2M 3.8, 3.9; 2M-Heun 3.9, 4.0; UniPC-1 (order 2) 3.7, 3.8; UniPC-2 (order 3) 6.5, 7.2;
    // UniPC-2 bh1 7.1, 7.6; UniPC-3 6.9, 7.2 (the order-2 warm-up step caps it at 3).
    [DataRow("dpm1", 1.8, 2.2, DisplayName = "DPM-Solver++ order 1: error ratio 2")]
    [DataRow("dpm2", 3.5, 4.5, DisplayName = "DPM-Solver++ 2M: error ratio 4")]
    [DataRow("dpm2-heun", 3.5, 4.5, DisplayName = "DPM-Solver++ 2M Heun: error ratio 4")]
    [DataRow("unipc1", 3.3, 4.5, DisplayName = "UniPC-1: error ratio 4")]
    [DataRow("unipc2", 5.5, 9.5, DisplayName = "UniPC-2: error ratio 8")]
    [DataRow("unipc2-bh1", 5.5, 9.5, DisplayName = "UniPC-2 bh1: error ratio 8")]
    [DataRow("unipc3", 5.5, 10, DisplayName = "UniPC-3: error ratio >= 8")]
    public void ConvergesToTheExactOdeMapAtItsOrder(string key, double minRatio, double maxRatio)
    {
        double e61 = MapError(key, 61), e121 = MapError(key, 121), e241 = MapError(key, 241);
        foreach (var (ratio, what) in new[] { (e61 / e121, "61 -> 121"), (e121 / e241, "121 -> 241") })
            Assert.IsTrue(ratio > minRatio && ratio < maxRatio,
                $"error ratio {ratio:F2} for {what} steps outside ({minRatio}, {maxRatio}); errors {e61:E2}, {e121:E2}, {e241:E2}");
    }

    [TestMethod]
    public void ThirdOrderDpmSolverMatchesDiffusersWeightsAndBeatsSecondOrder()
    {
        // DPM-Solver++(3M) as in diffusers and the paper's reference code weights D2 = (D1_0 - D1_1) / (r0 + r1) ~ h^2 x0''/2
        // by -alpha_t ((e^-h - 1 + h) / h^2 - 1/2) ~ alpha_t h / 6, half the exact integral of the interpolating quadratic
        // (alpha_t h / 3), so its local error keeps an O(h^3) term and it converges at order 2 with a much smaller constant.
        // Observed: errors 3.7e-4, 9.0e-5, 2.5e-5 (ratios 4.2, 3.7) against 2M's 1.7e-3, 4.5e-4, 1.1e-4.
        double[] e3 = [MapError("dpm3", 61), MapError("dpm3", 121), MapError("dpm3", 241)];
        double[] e2 = [MapError("dpm2", 61), MapError("dpm2", 121), MapError("dpm2", 241)];
        for (int i = 0; i < 3; i++) Assert.IsTrue(e3[i] < e2[i] / 3, $"3M error {e3[i]:E2} vs 2M {e2[i]:E2}");
        double ratio = e3[1] / e3[2];
        Assert.IsTrue(ratio > 3.3 && ratio < 4.7, $"3M error ratio {ratio:F2}");
    }

    [TestMethod]
    public void MatchesAReimplementationOfDiffusersStepLogic()
    {
        // Reference values from a double-precision scalar restatement of diffusers' DPMSolverMultistepScheduler.step and
        // UniPCMultistepScheduler.step (final_sigmas_type "zero"; linear betas 1e-4..0.02), written independently of this code.
        // Ten steps, so lower_order_final applies. Data N(0.3, 0.5^2); x_T = -1.3, 0, 1, 2.2.
        int[] ts = [999, 899, 799, 699, 599, 499, 399, 299, 199, 99];
        var cases = new (ISampler Sampler, double[] Expected)[]
        {
            (new DpmSolverPlusPlusSampler(1), [-0.1816463, 0.2992949, 0.6692497, 1.1131955]),
            (new DpmSolverPlusPlusSampler(2), [-0.2269650, 0.2992286, 0.7039928, 1.1897100]),
            (new DpmSolverPlusPlusSampler(3), [-0.2327299, 0.2992201, 0.7084125, 1.1994433]),
            (new DpmSolverPlusPlusSampler(3, lowerOrderFinal: false), [-0.2434341, 0.2992045, 0.7166188, 1.2175159]),
            (new UniPcSampler(1), [-0.1977282, 0.2992714, 0.6815788, 1.1403477]),
            (new UniPcSampler(2), [-0.2331477, 0.2992195, 0.7087328, 1.2001487]),
            (new UniPcSampler(3), [-0.2348894, 0.2992170, 0.7100680, 1.2030893]),
            (new UniPcSampler(2, UniPcVariant.Bh1), [-0.2480328, 0.2991977, 0.7201443, 1.2252803]),
            (new UniPcSampler(2, disableCorrector: [1, 3]), [-0.2329040, 0.2992199, 0.7085459, 1.1997372]),
        };
        foreach (var (sampler, expected) in cases)
        {
            double[] y = Run(sampler, ts, 0.3, 0.5, -1.3, 0, 1, 2.2);
            for (int i = 0; i < y.Length; i++) Assert.AreEqual(expected[i], y[i], 1e-6, $"{sampler.Name} order {i}");
        }
    }

    [TestMethod]
    public void OrderOneDpmSolverIsDdim()
    {
        // DPM-Solver++(1): (sigma_s / sigma_t) x_t - alpha_s (e^-h - 1) x_0 = sqrt(abar_s) x_0 + sqrt(1 - abar_s) eps (Lu et al. 2022).
        var pipeline = new DiffusionPipeline(new GaussianDataDenoiser(Linear, Mean, Std), Linear);
        var options = new GenerationOptions { Count = 64, BatchSize = 64, NumInferenceSteps = 20, ClipSample = false, Seed = 5 };
        float[] ddim = pipeline.Generate(new DdimSampler(), options);
        float[] dpm = pipeline.Generate(new DpmSolverPlusPlusSampler(order: 1), options);
        for (int i = 0; i < ddim.Length; i++) Assert.AreEqual(ddim[i], dpm[i], 1e-5, $"element {i}");
    }

    [TestMethod]
    public void OrderOneSdeDpmSolverIsDdimWithEtaOne()
    {
        // (sigma_s / sigma_t) e^-h x_t + alpha_s (1 - e^-2h) x_0 + sigma_s sqrt(1 - e^-2h) z is the DDPM posterior step, DDIM's
        // eta = 1; both draw noise on every step but the last, from the same per-sample streams.
        var pipeline = new DiffusionPipeline(new GaussianDataDenoiser(Linear, Mean, Std), Linear);
        var options = new GenerationOptions { Count = 64, BatchSize = 64, NumInferenceSteps = 20, ClipSample = false, Seed = 6 };
        float[] ddim = pipeline.Generate(new DdimSampler(eta: 1), options);
        float[] sde = pipeline.Generate(new SdeDpmSolverPlusPlusSampler(order: 1), options);
        for (int i = 0; i < ddim.Length; i++) Assert.AreEqual(ddim[i], sde[i], 1e-4, $"element {i}");
    }

    [TestMethod]
    public void UniPcWithoutCorrectorIsDpmSolver2M()
    {
        // UniP-2 with B(h) = e^h - 1 and a_1 = 1/2 is DPM-Solver++(2M) (Zhao et al. 2023, sec. 3.3), and the warm-up and final
        // rules coincide.
        int[] ts = InferenceTimesteps.Create(1000, 12, TimestepSpacing.Trailing);
        double[] xT = [-2, -0.5, 0.7, 1.9];
        double[] uni = Run(new UniPcSampler(order: 2, disableCorrector: Enumerable.Range(0, ts.Length)), ts, 0.3, 0.5, xT);
        double[] dpm = Run(new DpmSolverPlusPlusSampler(order: 2), ts, 0.3, 0.5, xT);
        double[] corrected = Run(new UniPcSampler(order: 2), ts, 0.3, 0.5, xT);
        for (int i = 0; i < xT.Length; i++) Assert.AreEqual(dpm[i], uni[i], 1e-5);
        Assert.IsTrue(Math.Abs(corrected[3] - dpm[3]) > 1e-3, "the corrector changes the result");
    }

    [TestMethod]
    // 25 trailing steps (diffusers' spacing for these solvers): the samples must have the mean and variance of the exact map
    // a x_T + b with x_T ~ N(0, 1), i.e. b and a^2. The map's last step, the x_0 estimate at t = 39, is what keeps the
    // variance of the 0.2-std coordinate 12% below s^2; the solvers' own errors (< 1%) are far inside 3 standard errors.
    [DataRow("dpm-solver++-2m", 25)]
    [DataRow("dpm-solver++-3m", 25)]
    [DataRow("unipc", 25)]
    public void SamplesHaveTheMomentsOfTheExactMap(string name, int steps)
    {
        int[] ts = InferenceTimesteps.Create(1000, steps, TimestepSpacing.Trailing);
        var pipeline = new DiffusionPipeline(new GaussianDataDenoiser(Linear, Mean, Std), Linear);
        float[] x = pipeline.Generate(Samplers.Create(name), new GenerationOptions
        {
            Count = SampleCount, BatchSize = 512, Timesteps = ts, ClipSample = false, Seed = 11,
        });
        for (int c = 0; c < Mean.Length; c++)
        {
            var (a, b) = ExactMap(ts[0], ts[^1], Mean[c], Std[c]);
            AssertMoments(x, c, b, a * a);
        }
    }

    [TestMethod]
    [DataRow(50)]
    [DataRow(200)]
    public void SdeSamplesHaveThePropagatedMoments(int steps)
    {
        // With Gaussian data every SDE-DPM-Solver++(2M) step is linear-Gaussian in (x_k, x_{k-1}, z_k), so the mean and variance
        // of the result follow exactly from the update (diffusers' "sde-dpmsolver++", midpoint; Lu et al. 2022) written out here:
        // x_{k+1} = (sigma_{k+1} / sigma_k) e^-h x_k + alpha_{k+1} (1 - e^-2h) (m_k + (m_k - m_{k-1}) / (2 r)) + sigma_{k+1} sqrt(1 - e^-2h) z,
        // with m = mu + g (x - alpha mu), g = alpha s^2 / v, the exact x_0 estimate, and the first step of order 1.
        // The propagated moments also give the solver's weak error against the exact distribution (mean mu, variance a^2 of the
        // exact map): variance +8.5% / +5.5% (std 0.5 / 0.2) at 50 trailing steps, +1.4% / +4.4% at 200, +0.1% / +0.5% at 1000;
        // the mean is mu to 1e-4.
        int[] ts = InferenceTimesteps.Create(1000, steps, TimestepSpacing.Trailing);
        var pipeline = new DiffusionPipeline(new GaussianDataDenoiser(Linear, Mean, Std), Linear);
        float[] x = pipeline.Generate(Samplers.Create("sde-dpm-solver++-2m"), new GenerationOptions
        {
            Count = SampleCount, BatchSize = 512, Timesteps = ts, ClipSample = false, Seed = 12,
        });
        for (int c = 0; c < Mean.Length; c++)
        {
            double mu = Mean[c], s2 = Std[c] * Std[c];
            double Alpha(int k) => Math.Sqrt(Linear.AlphaBar[ts[k]]);
            double Sigma(int k) => Math.Sqrt(1 - Linear.AlphaBar[ts[k]]);
            double Lambda(int k) => Math.Log(Alpha(k) / Sigma(k));
            double G(int k) => Alpha(k) * s2 / (Alpha(k) * Alpha(k) * s2 + Sigma(k) * Sigma(k));
            double Intercept(int k) => mu - G(k) * Alpha(k) * mu; // m_k = G x_k + Intercept
            double mean = 0, variance = 1, meanPrev = 0, variancePrev = 0, covariance = 0; // x_k, x_{k-1} and their covariance
            for (int k = 0; k + 1 < ts.Length; k++)
            {
                double h = Lambda(k + 1) - Lambda(k), e2h = 1 - Math.Exp(-2 * h);
                double w = k == 0 ? 0 : h / (Lambda(k) - Lambda(k - 1)) / 2; // 1 / (2 r)
                double p = Sigma(k + 1) / Sigma(k) * Math.Exp(-h) + Alpha(k + 1) * e2h * (1 + w) * G(k);
                double q = k == 0 ? 0 : -Alpha(k + 1) * e2h * w * G(k - 1);
                double constant = Alpha(k + 1) * e2h * ((1 + w) * Intercept(k) - (k == 0 ? 0 : w * Intercept(k - 1)));
                double noise = Sigma(k + 1) * Sigma(k + 1) * e2h;
                double nextMean = p * mean + q * meanPrev + constant;
                double nextVariance = p * p * variance + q * q * variancePrev + 2 * p * q * covariance + noise;
                covariance = p * variance + q * covariance;
                (meanPrev, variancePrev, mean, variance) = (mean, variance, nextMean, nextVariance);
            }
            int last = ts.Length - 1;
            double expectedVariance = G(last) * G(last) * variance;
            var (a, _) = ExactMap(ts[0], ts[last], mu, Std[c]);
            Assert.AreEqual(1, expectedVariance / (a * a), 0.1, "the SDE solver is consistent: its variance is near the exact one");
            AssertMoments(x, c, G(last) * mean + Intercept(last), expectedVariance);
        }
    }

    private static void AssertMoments(float[] x, int coordinate, double expectedMean, double expectedVariance)
    {
        int d = Mean.Length, n = x.Length / d;
        double m = 0, v = 0;
        for (int k = 0; k < n; k++) m += x[k * d + coordinate];
        m /= n;
        for (int k = 0; k < n; k++) v += Math.Pow(x[k * d + coordinate] - m, 2);
        v /= n - 1;
        double seMean = Math.Sqrt(expectedVariance / n), seVar = expectedVariance * Math.Sqrt(2.0 / (n - 1));
        Assert.AreEqual(expectedMean, m, 3 * seMean, $"mean of coordinate {coordinate}");
        Assert.AreEqual(expectedVariance, v, 3 * seVar, $"variance of coordinate {coordinate}");
    }

    [TestMethod]
    [DataRow("dpm-solver++-2m")]
    [DataRow("dpm-solver++-3m")]
    [DataRow("sde-dpm-solver++-2m")]
    [DataRow("unipc")]
    public void BatchSizeNeverChangesASample(string name)
    {
        var pipeline = new DiffusionPipeline(new GaussianDataDenoiser(Linear, Mean, Std), Linear);
        var sampler = Samplers.Create(name);
        var options = new GenerationOptions { Count = 7, NumInferenceSteps = 12, Seed = 3, ClipSample = false };
        float[] whole = pipeline.Generate(sampler, options with { BatchSize = 7 });
        float[] single = pipeline.Generate(sampler, options with { BatchSize = 1 });
        float[] tail = pipeline.Generate(sampler, options with { Count = 4, FirstIndex = 3, BatchSize = 3 });
        CollectionAssert.AreEqual(whole, single);
        CollectionAssert.AreEqual(whole.Skip(3 * Mean.Length).ToArray(), tail);
    }

    [TestMethod]
    public void RegisteredNamesCreateTheirSamplers()
    {
        foreach (string name in new[] { "ddpm", "ddpm-large", "ddim", "dpm-solver++-2m", "dpm-solver++-3m", "sde-dpm-solver++-2m", "unipc" })
        {
            CollectionAssert.Contains(Samplers.Names.ToArray(), name);
            if (name != "ddpm-large") Assert.AreEqual(name, Samplers.Create(name.ToUpperInvariant()).Name);
        }
        Assert.AreEqual(3, ((DpmSolverPlusPlusSampler)Samplers.Create("dpm-solver++-3m")).Order);
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new DpmSolverPlusPlusSampler(order: 4));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new SdeDpmSolverPlusPlusSampler(order: 3));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new UniPcSampler(order: 0));
    }
}
