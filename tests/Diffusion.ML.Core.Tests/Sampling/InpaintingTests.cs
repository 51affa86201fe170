using Diffusion.ML.Sampling;
using Diffusion.ML.Schedules;

namespace Diffusion.ML.Core.Tests.Sampling;

/// <summary>RePaint inpainting (Lugmayr et al. 2022) checked against closed forms on Gaussian data with a full covariance.</summary>
[TestClass]
public sealed class InpaintingTests
{
    private static readonly NoiseSchedule Schedule = new(new NoiseScheduleOptions());
    private static readonly double[] Mu = [0.1, -0.2, 0.3, 0.0];
    private static readonly double[,] Sigma = Covariance();
    private static readonly int[] Known = [0, 1], Unknown = [2, 3];
    private static readonly float[] KnownValues = [0.9f, -0.8f, 0f, 0f];

    private static double[,] Covariance()
    {
        double[] std = [0.5, 0.4, 0.6, 0.5];
        double[,] corr = { { 1, 0.1, 0.7, 0.2 }, { 0.1, 1, -0.3, 0.6 }, { 0.7, -0.3, 1, 0.1 }, { 0.2, 0.6, 0.1, 1 } };
        var s = new double[4, 4];
        for (int i = 0; i < 4; i++) for (int j = 0; j < 4; j++) s[i, j] = corr[i, j] * std[i] * std[j];
        return s;
    }

    [TestMethod]
    public void ScheduleFollowsTheAuthorsJumps()
    {
        // n = 6, j = 2, r = 2: states u = 5..0 with jumps back after u = 0 and u = 2 (u < n - j), each once; positions = 5 - u.
        CollectionAssert.AreEqual(new[] { 0, 1, 2, 3, 1, 2, 3, 4, 5, 3, 4, 5, 6 }, RePaintSchedule.Create(6, 2, 2));
        Assert.AreEqual(6 + 1 * 2 * 2, RePaintSchedule.ReverseSteps(6, 2, 2));
        CollectionAssert.AreEqual(Enumerable.Range(0, 8).ToArray(), RePaintSchedule.Create(7, 3, 1), "r = 1: no jumps");
        CollectionAssert.AreEqual(Enumerable.Range(0, 5).ToArray(), RePaintSchedule.Create(4, 10, 5), "j >= n: no jump fits");
        // The paper's setting: 250 steps, j = 10, r = 10 -> 24 jump points, each stretch of 10 steps denoised 10 times.
        Assert.AreEqual(250 + 9 * 10 * 24, RePaintSchedule.ReverseSteps(250, 10, 10));
    }

    /// <summary>
    /// MUST-SHOW: Gaussian data with a full covariance, two coordinates known. The known region comes back exactly; the
    /// unknown region's sample moments (4096 samples) match RePaint's exact output moments (propagated in closed form through
    /// the affine steps) within 3 SE, for r = 1 and r = 10; and resampling moves them toward the exact conditional Gaussian
    /// (Schur complement): RePaint is an approximation whose bias shrinks with r and the step count, not an exact sampler.
    /// </summary>
    [TestMethod]
    public void RePaintOnCorrelatedGaussianDataApproachesTheConditional()
    {
        const int steps = 250, count = 4096;
        var pipeline = new DiffusionPipeline(new CorrelatedGaussianDenoiser(Schedule, Mu, Sigma), Schedule);
        int[] ts = InferenceTimesteps.Create(1000, steps, TimestepSpacing.Leading);
        var (conditionalMean, conditionalCov) = Conditional();
        var bias = new Dictionary<int, double[]>();
        foreach (int r in new[] { 1, 10 })
        {
            float[] x = pipeline.Inpaint(null, new InpaintingOptions { KnownImages = KnownValues, Mask = [1, 1, 0, 0], JumpLength = 10, Resampling = r },
                new GenerationOptions { Count = count, BatchSize = count, NumInferenceSteps = steps, ClipSample = false, Seed = 11 });
            for (int k = 0; k < count; k++)
                foreach (int i in Known) Assert.AreEqual(KnownValues[i], x[k * 4 + i], $"known value {i} of sample {k} is reproduced exactly");
            var (mean, cov) = RePaintMoments(ts, RePaintSchedule.Create(steps, 10, r));
            bias[r] = new double[Unknown.Length];
            for (int j = 0; j < Unknown.Length; j++)
            {
                int u = Unknown[j];
                var (m, v) = Moments(x, u);
                double seMean = Math.Sqrt(cov[u, u] / count), seVar = cov[u, u] * Math.Sqrt(2.0 / (count - 1));
                bias[r][j] = (mean[u] - conditionalMean[j]) / Math.Sqrt(conditionalCov[j, j] / count);
                Console.WriteLine($"r = {r}, coordinate {u}: sample mean {m:F4} (RePaint exact {mean[u]:F4}, conditional {conditionalMean[j]:F4}), " +
                    $"sample variance {v:F4} (RePaint exact {cov[u, u]:F4}, conditional {conditionalCov[j, j]:F4}); RePaint mean bias {bias[r][j]:F1} SE");
                Assert.AreEqual(mean[u], m, 3 * seMean, $"r = {r}: mean of coordinate {u}");
                Assert.AreEqual(cov[u, u], v, 3 * seVar, $"r = {r}: variance of coordinate {u}");
            }
        }
        for (int j = 0; j < Unknown.Length; j++)
            Assert.IsTrue(Math.Abs(bias[10][j]) < 0.25 * Math.Abs(bias[1][j]), $"resampling cuts the mean bias of coordinate {Unknown[j]} at least fourfold");
    }

    [TestMethod]
    public void WithEnoughStepsAndResamplingTheRePaintMeanReachesTheConditional()
    {
        // Closed form only (no sampling): 1000 steps, j = 10, r = 50 (49510 model evaluations). Its mean is within 3 SE (of a
        // 4096-sample run) of the conditional mean; the variance still falls short by about 4 SE (8%).
        var (mean, _) = RePaintMoments(InferenceTimesteps.Create(1000, 1000, TimestepSpacing.Leading), RePaintSchedule.Create(1000, 10, 50));
        var (conditionalMean, conditionalCov) = Conditional();
        for (int j = 0; j < Unknown.Length; j++)
            Assert.AreEqual(conditionalMean[j], mean[Unknown[j]], 3 * Math.Sqrt(conditionalCov[j, j] / 4096), $"mean of coordinate {Unknown[j]}");
    }

    [TestMethod]
    public void InpaintingNeverDependsOnTheBatchAndUsesPerImageMasks()
    {
        var pipeline = new DiffusionPipeline(new CorrelatedGaussianDenoiser(Schedule, Mu, Sigma), Schedule);
        float[] images = [0.5f, 0.5f, 0.5f, 0.5f, -0.5f, -0.5f, -0.5f, -0.5f];
        float[] masks = [1, 0, 0, 0, 0, 0, 1, 1];
        var inpainting = new InpaintingOptions { KnownImages = images, Mask = masks, JumpLength = 3, Resampling = 3 };
        var options = new GenerationOptions { Count = 5, NumInferenceSteps = 12, Seed = 5, ClipSample = false };
        float[] whole = pipeline.Inpaint(new DdimSampler(eta: 1), inpainting, options with { BatchSize = 5 });
        float[] single = pipeline.Inpaint(new DdimSampler(eta: 1), inpainting, options with { BatchSize = 1 });
        float[] tail = pipeline.Inpaint(new DdimSampler(eta: 1), inpainting, options with { Count = 2, FirstIndex = 3, BatchSize = 2 });
        CollectionAssert.AreEqual(whole, single);
        CollectionAssert.AreEqual(whole.Skip(12).ToArray(), tail);
        for (int k = 0; k < 5; k++)
        for (int i = 0; i < 4; i++)
        {
            int image = k % 2;
            if (masks[image * 4 + i] == 1) Assert.AreEqual(images[image * 4 + i], whole[k * 4 + i]);
            else Assert.AreNotEqual(images[image * 4 + i], whole[k * 4 + i]);
        }
        var reports = new List<GenerationProgress>();
        pipeline.Inpaint(null, inpainting, options with { Count = 1 }, new SamplingTestKit.SynchronousProgress(reports.Add));
        Assert.AreEqual(RePaintSchedule.ReverseSteps(12, 3, 3), reports.Count);
        Assert.IsTrue(reports.All(p => p.Steps == reports.Count));
    }

    [TestMethod]
    public void BadInpaintingRequestsSayWhatIsWrong()
    {
        var pipeline = new DiffusionPipeline(new CorrelatedGaussianDenoiser(Schedule, Mu, Sigma), Schedule);
        var options = new GenerationOptions { Count = 1, NumInferenceSteps = 5 };
        var ex = Assert.ThrowsExactly<ArgumentException>(() => pipeline.Inpaint(null, new InpaintingOptions { KnownImages = [1, 2, 3], Mask = [1, 1, 0] }, options));
        StringAssert.Contains(ex.Message, "multiple of the sample size 4");
        ex = Assert.ThrowsExactly<ArgumentException>(() => pipeline.Inpaint(null, new InpaintingOptions { KnownImages = KnownValues, Mask = [1, 0] }, options));
        StringAssert.Contains(ex.Message, "mask");
        ex = Assert.ThrowsExactly<ArgumentException>(() => pipeline.Inpaint(null, new InpaintingOptions { KnownImages = KnownValues, Mask = [2, 0, 0, 0] }, options));
        StringAssert.Contains(ex.Message, "[0, 1]");
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() =>
            pipeline.Inpaint(null, new InpaintingOptions { KnownImages = KnownValues, Mask = [1, 0, 0, 0], Resampling = 0 }, options));
        ex = Assert.ThrowsExactly<ArgumentException>(() =>
            pipeline.Inpaint(null, new InpaintingOptions { KnownImages = KnownValues, Mask = [1, 0, 0, 0] }, options with { InitialImages = KnownValues }));
        StringAssert.Contains(ex.Message, "KnownImages");
    }


    private static (double Mean, double Variance) Moments(float[] x, int coordinate)
    {
        int d = Mu.Length, n = x.Length / d;
        double m = 0, v = 0;
        for (int k = 0; k < n; k++) m += x[k * d + coordinate];
        m /= n;
        for (int k = 0; k < n; k++) v += Math.Pow(x[k * d + coordinate] - m, 2);
        return (m, v / (n - 1));
    }

    // Exact conditional of the unknown coordinates given the known ones (Schur complement).
    private static (double[] Mean, double[,] Cov) Conditional()
    {
        double[,] kk = Sub(Sigma, Known, Known), uk = Sub(Sigma, Unknown, Known), uu = Sub(Sigma, Unknown, Unknown);
        double[,] gain = Mul(uk, Inverse(kk));
        var diff = new double[Known.Length];
        for (int i = 0; i < Known.Length; i++) diff[i] = KnownValues[Known[i]] - Mu[Known[i]];
        var mean = new double[Unknown.Length];
        for (int i = 0; i < Unknown.Length; i++)
        {
            mean[i] = Mu[Unknown[i]];
            for (int k = 0; k < Known.Length; k++) mean[i] += gain[i, k] * diff[k];
        }
        double[,] cov = Add(uu, Mul(gain, Transpose(uk)), -1);
        return (mean, cov);
    }

    // Mean and covariance of RePaint's output with ancestral DDPM steps and the exact denoiser, propagated through the affine
    // maps, written out from Ho et al. 2020 (eq. 4, 6-7) and Lugmayr et al. 2022 (Alg. 1) independently of the pipeline code.
    private static (double[] Mean, double[,] Cov) RePaintMoments(int[] ts, int[] path)
    {
        int d = Mu.Length;
        var m = new double[d];
        double[,] c = Identity(d, 1);
        for (int i = 1; i < path.Length; i++)
        {
            int from = path[i - 1], to = path[i];
            double at = Schedule.AlphaBar[ts[from]];
            if (to < from)
            {
                double rho = Schedule.AlphaBar[ts[to]] / at;
                for (int k = 0; k < d; k++) m[k] *= Math.Sqrt(rho);
                c = Add(Scale(c, rho), Identity(d, 1 - rho), 1);
                continue;
            }
            double aS = to < ts.Length ? Schedule.AlphaBar[ts[to]] : 1.0;
            // eps = E (x - sqrt(at) mu), E = sqrt(1 - at) (at Sigma + (1 - at) I)^-1; x0 = (x - sqrt(1 - at) eps) / sqrt(at)
            double[,] e = Scale(Inverse(Add(Scale(Sigma, at), Identity(d, 1 - at), 1)), Math.Sqrt(1 - at));
            double[,] x0Slope = Scale(Add(Identity(d, 1), Scale(e, Math.Sqrt(1 - at)), -1), 1 / Math.Sqrt(at));
            double[] x0Offset = MulVec(Scale(e, Math.Sqrt(1 - at)), Mu);
            double alpha = at / aS, beta = 1 - alpha;
            double c1 = Math.Sqrt(aS) * beta / (1 - at), c2 = Math.Sqrt(alpha) * (1 - aS) / (1 - at), variance = beta * (1 - aS) / (1 - at);
            double[,] g = Add(Scale(x0Slope, c1), Identity(d, c2), 1);
            double[] h = x0Offset.Select(v => c1 * v).ToArray();
            double[] gm = MulVec(g, m);
            double[,] gcg = Mul(Mul(g, c), Transpose(g));
            var newMean = new double[d];
            var newCov = new double[d, d];
            foreach (int u in Unknown)
            {
                newMean[u] = gm[u] + h[u];
                foreach (int v in Unknown) newCov[u, v] = gcg[u, v] + (u == v ? variance : 0);
            }
            foreach (int k in Known)
            {
                newMean[k] = Math.Sqrt(aS) * KnownValues[k];
                newCov[k, k] = 1 - aS;
            }
            m = newMean;
            c = newCov;
        }
        return (m, c);
    }

    private static double[,] Identity(int d, double v) { var r = new double[d, d]; for (int i = 0; i < d; i++) r[i, i] = v; return r; }
    private static double[,] Scale(double[,] a, double f) { var r = (double[,])a.Clone(); for (int i = 0; i < a.GetLength(0); i++) for (int j = 0; j < a.GetLength(1); j++) r[i, j] *= f; return r; }
    private static double[,] Add(double[,] a, double[,] b, double f) { var r = (double[,])a.Clone(); for (int i = 0; i < a.GetLength(0); i++) for (int j = 0; j < a.GetLength(1); j++) r[i, j] += f * b[i, j]; return r; }
    private static double[,] Transpose(double[,] a) { var r = new double[a.GetLength(1), a.GetLength(0)]; for (int i = 0; i < a.GetLength(0); i++) for (int j = 0; j < a.GetLength(1); j++) r[j, i] = a[i, j]; return r; }
    private static double[,] Sub(double[,] a, int[] rows, int[] cols) { var r = new double[rows.Length, cols.Length]; for (int i = 0; i < rows.Length; i++) for (int j = 0; j < cols.Length; j++) r[i, j] = a[rows[i], cols[j]]; return r; }
    private static double[,] Mul(double[,] a, double[,] b)
    {
        var r = new double[a.GetLength(0), b.GetLength(1)];
        for (int i = 0; i < a.GetLength(0); i++) for (int j = 0; j < b.GetLength(1); j++) for (int k = 0; k < a.GetLength(1); k++) r[i, j] += a[i, k] * b[k, j];
        return r;
    }
    private static double[] MulVec(double[,] a, double[] v)
    {
        var r = new double[a.GetLength(0)];
        for (int i = 0; i < r.Length; i++) for (int k = 0; k < v.Length; k++) r[i] += a[i, k] * v[k];
        return r;
    }
    // Gauss-Jordan with partial pivoting.
    private static double[,] Inverse(double[,] a)
    {
        int n = a.GetLength(0);
        var w = (double[,])a.Clone();
        var r = Identity(n, 1);
        for (int col = 0; col < n; col++)
        {
            int p = col;
            for (int i = col + 1; i < n; i++) if (Math.Abs(w[i, col]) > Math.Abs(w[p, col])) p = i;
            for (int j = 0; j < n; j++) { (w[col, j], w[p, j]) = (w[p, j], w[col, j]); (r[col, j], r[p, j]) = (r[p, j], r[col, j]); }
            double pivot = w[col, col];
            for (int j = 0; j < n; j++) { w[col, j] /= pivot; r[col, j] /= pivot; }
            for (int i = 0; i < n; i++)
            {
                if (i == col) continue;
                double f = w[i, col];
                for (int j = 0; j < n; j++) { w[i, j] -= f * w[col, j]; r[i, j] -= f * r[col, j]; }
            }
        }
        return r;
    }
}
