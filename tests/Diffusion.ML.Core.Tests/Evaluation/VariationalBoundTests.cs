using Diffusion.ML.Evaluation;
using Diffusion.ML.Sampling;
using Diffusion.ML.Schedules;

namespace Diffusion.ML.Core.Tests.Evaluation;

/// <summary>
/// The variational bound of the exact denoiser of Gaussian data, quantised to 8 bits, against the exact entropy of the
/// quantised Gaussian; the sampled estimator against the full one; determinism, conditioning and input validation.
/// </summary>
[TestClass]
public sealed class VariationalBoundTests
{
    private const int Dims = 16, Images = 500;
    private const double Mu = 0.1, Sigma = 0.3;
    private static readonly double[] Means = Enumerable.Repeat(Mu, Dims).ToArray();
    private static readonly double[] Stds = Enumerable.Repeat(Sigma, Dims).ToArray();
    private static readonly NoiseSchedule Linear1000 = new(new NoiseScheduleOptions());

    /// <summary>Quantised Gaussian data x = round((mu + sigma z + 1) 127.5) / 127.5 - 1, clamped to the 256 levels.</summary>
    private static readonly Lazy<float[]> Data = new(() =>
    {
        var random = new Random(12345);
        var x = new float[Images * Dims];
        for (int i = 0; i < x.Length; i++)
            x[i] = (float)(Math.Clamp(Math.Round((Mu + Sigma * EvaluationTestData.Gaussian(random) + 1) * 127.5), 0, 255) / 127.5 - 1);
        return x;
    });

    /// <summary>
    /// The model that matches the exact denoiser of continuous Gaussian data: reverse variance beta_t (at small t the posterior
    /// of x_0 given x_t is as wide as the noise, so beta-tilde_t is too small) and decoder variance beta_1.
    /// </summary>
    private static readonly VariationalBoundOptions MatchedOptions = new()
    {
        VarianceType = DdpmVarianceType.FixedLarge, DecoderVariance = DecoderVariance.Beta, BatchSize = 256, Seed = 3,
    };

    private static readonly Lazy<VariationalBoundResult> FullResult = new(() =>
        new VariationalBound(new GaussianDataDenoiser(Linear1000, Means, Stds), Linear1000, MatchedOptions).Estimate(Data.Value));

    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    public void BoundOfTheExactGaussianDenoiserMatchesTheEntropyOfQuantisedGaussianData()
    {
        // Exact NLL of the data: P_k = mass of N(mu, sigma^2) on bin k (edge bins to +-inf), by Simpson integration of the density.
        double[] logP2 = QuantisedGaussianLog2Probabilities(Mu, Sigma);
        double entropy = -logP2.Sum(l => Math.Pow(2, l) * l);
        for (int k = 0; k < 256; k += 17) // the same probabilities from the library's erf, as a cross-check
        {
            double lo = k == 0 ? double.NegativeInfinity : ((2.0 * k - 1) / 255 - 1 - Mu) / Sigma;
            double hi = k == 255 ? double.PositiveInfinity : ((2.0 * k + 1) / 255 - 1 - Mu) / Sigma;
            Assert.AreEqual(logP2[k], SpecialFunctions.LogNormalProbability(lo, hi) / Math.Log(2), 1e-9, $"bin {k}");
        }

        VariationalBoundResult vlb = FullResult.Value;
        (double gap, double gapSe, double sampleNll) = PairedGap(vlb, logP2);
        TestContext.WriteLine($"entropy of the quantised Gaussian {entropy:F4} bits/dim; NLL of the {Images} x {Dims} sample {sampleNll:F4}");
        TestContext.WriteLine($"T=1000, fixed-large, decoder beta_1: VLB {vlb.BitsPerDim:F4} +- {vlb.StandardError:F4} bits/dim " +
                              $"(prior {vlb.PriorBitsPerDim:F6}, diffusion {vlb.DiffusionBitsPerDim:F4}, decoder {vlb.DecoderBitsPerDim:F4}); " +
                              $"VLB - NLL = {gap:F4} +- {gapSe:F4}; relative to the entropy {(vlb.BitsPerDim - entropy) / entropy:P2}");

        Assert.AreEqual(Images, vlb.ImageCount);
        Assert.AreEqual((long)Images * 1000, vlb.NetworkEvaluations);
        Assert.AreEqual(vlb.BitsPerDim, vlb.PriorBitsPerDim + vlb.DiffusionBitsPerDim + vlb.DecoderBitsPerDim, 1e-9);
        Assert.AreEqual(entropy, vlb.BitsPerDim, 0.01 * entropy, "the bound of the exact model is the NLL within 1%");
        Assert.IsTrue(gap > -3 * gapSe, $"the bound lies below the NLL: gap {gap} +- {gapSe}");
        Assert.IsTrue(gapSe < 0.03, $"gap standard error {gapSe}");

        // Fewer steps loosen the bound (each reverse step is then a poorer Gaussian fit). Linear betas scaled by 1000 / T, capped at 0.6.
        var short20 = new NoiseSchedule(new NoiseScheduleOptions { NumTrainTimesteps = 20, BetaStart = 0.005, BetaEnd = 0.6 });
        VariationalBoundResult vlb20 = new VariationalBound(new GaussianDataDenoiser(short20, Means, Stds), short20, MatchedOptions).Estimate(Data.Value);
        (double gap20, double gap20Se, _) = PairedGap(vlb20, logP2);
        TestContext.WriteLine($"T=20: VLB {vlb20.BitsPerDim:F4} +- {vlb20.StandardError:F4}, VLB - NLL = {gap20:F4} +- {gap20Se:F4}");
        Assert.IsTrue(gap20 - gap > 4 * Math.Sqrt(gap20Se * gap20Se + gapSe * gapSe), $"T=20 gap {gap20} vs T=1000 gap {gap}");

        // Ho et al.'s default variances (fixed-small, clipped decoder) suit sharp x_0 estimates, not this model: a looser, still valid bound.
        const int fewer = 100;
        float[] subset = Data.Value.AsSpan(0, fewer * Dims).ToArray();
        VariationalBoundResult ho = new VariationalBound(new GaussianDataDenoiser(Linear1000, Means, Stds), Linear1000, new VariationalBoundOptions { Seed = 3 }).Estimate(subset);
        (double hoGap, double hoGapSe, _) = PairedGap(ho, logP2);
        TestContext.WriteLine($"T=1000, fixed-small, clipped decoder ({fewer} images): VLB {ho.BitsPerDim:F4} +- {ho.StandardError:F4}, VLB - NLL = {hoGap:F4} +- {hoGapSe:F4}");
        Assert.IsTrue(hoGap > 5 * hoGapSe && hoGap > gap, $"fixed-small gap {hoGap} +- {hoGapSe}");
    }

    [TestMethod]
    public void SampledEstimatorAgreesWithTheFullOneAndTightensWithMoreDraws()
    {
        VariationalBoundResult full = FullResult.Value;
        var denoiser = new GaussianDataDenoiser(Linear1000, Means, Stds);
        VariationalBoundResult Sampled(int k, IReadOnlyList<double>? proposal = null) =>
            new VariationalBound(denoiser, Linear1000, MatchedOptions with
            {
                Estimator = VariationalBoundEstimator.Sampled, TimestepsPerImage = k, TimestepProposal = proposal, Seed = 11,
            }).Estimate(Data.Value);

        // Importance proposal sqrt(E[L_t^2]) from a pilot Full run on 50 other-seeded evaluations of the first images.
        VariationalBoundResult pilot = new VariationalBound(denoiser, Linear1000, MatchedOptions with { Seed = 99 })
            .Estimate(Data.Value.AsSpan(0, 50 * Dims));
        double[] proposal = VariationalBound.ImportanceProposal(pilot);

        VariationalBoundResult k8 = Sampled(8), k64 = Sampled(64), k8Importance = Sampled(8, proposal);
        TestContext.WriteLine($"full: {full.BitsPerDim:F4} +- {full.StandardError:F4} ({full.NetworkEvaluations} evaluations)");
        foreach ((string name, VariationalBoundResult r) in new[] { ("K=8", k8), ("K=64", k64), ("K=8 importance", k8Importance) })
        {
            TestContext.WriteLine($"{name}: {r.BitsPerDim:F4} +- {r.StandardError:F4} ({r.NetworkEvaluations} evaluations)");
            double tolerance = 4 * Math.Sqrt(r.StandardError * r.StandardError + full.StandardError * full.StandardError);
            Assert.AreEqual(full.BitsPerDim, r.BitsPerDim, tolerance, name);
            Assert.AreEqual(full.PriorBitsPerDim, r.PriorBitsPerDim, 1e-12, "the prior term is exact");
            Assert.AreEqual(0, r.TermMeanBitsPerDim.Count);
        }
        Assert.AreEqual((long)Images * 9, k8.NetworkEvaluations);
        Assert.AreEqual((long)Images * 65, k64.NetworkEvaluations);
        Assert.IsTrue(k64.StandardError < 0.5 * k8.StandardError, $"SE with K=64 {k64.StandardError} vs K=8 {k8.StandardError}");
        Assert.IsTrue(k8Importance.StandardError < 0.5 * k8.StandardError, $"SE with importance sampling {k8Importance.StandardError} vs uniform {k8.StandardError}");
    }

    [TestMethod]
    public void FullRunRecordsEveryTerm()
    {
        VariationalBoundResult full = FullResult.Value;
        Assert.AreEqual(1000, full.TermMeanBitsPerDim.Count);
        Assert.AreEqual(full.DecoderBitsPerDim, full.TermMeanBitsPerDim[0], 1e-9);
        Assert.AreEqual(full.DiffusionBitsPerDim, full.TermMeanBitsPerDim.Skip(1).Sum(), 1e-9);
        for (int t = 0; t < 1000; t++)
            Assert.IsTrue(full.TermRootMeanSquareBitsPerDim[t] >= full.TermMeanBitsPerDim[t] - 1e-12 && full.TermMeanBitsPerDim[t] > -1e-12, $"term {t}");
    }

    [TestMethod]
    [DataRow(VariationalBoundEstimator.Full)]
    [DataRow(VariationalBoundEstimator.Sampled)]
    public void ResultDependsOnlyOnSeedAndImageIndex(VariationalBoundEstimator estimator)
    {
        var schedule = new NoiseSchedule(new NoiseScheduleOptions { NumTrainTimesteps = 50, BetaStart = 0.002, BetaEnd = 0.4 });
        var denoiser = new GaussianDataDenoiser(schedule, [0.1, -0.2, 0.3], [0.3, 0.2, 0.4]);
        float[] x = Data.Value.AsSpan(0, 5 * 3).ToArray();
        var options = new VariationalBoundOptions { Estimator = estimator, TimestepsPerImage = 4, Seed = 5 };
        double[] Run(int batch, int from, int count) =>
            [.. new VariationalBound(denoiser, schedule, options with { BatchSize = batch, FirstIndex = from })
                .Estimate(x.AsSpan(from * 3, count * 3)).PerImageBitsPerDim];

        double[] reference = Run(1, 0, 5);
        CollectionAssert.AreEqual(reference, Run(7, 0, 5));
        CollectionAssert.AreEqual(reference, Run(1000, 0, 5));
        CollectionAssert.AreEqual(reference, Run(3, 0, 2).Concat(Run(4, 2, 3)).ToArray(), "two shards reproduce the whole");
        Assert.AreNotEqual(reference[0], new VariationalBound(denoiser, schedule, options with { Seed = 6 }).Estimate(x).PerImageBitsPerDim[0]);
    }

    [TestMethod]
    public void ALearnedVarianceAtEitherEndIsTheMatchingFixedBound()
    {
        // v = -1 is beta-tilde everywhere (the clipped posterior decoder too); v = +1 is beta_t, with the decoder at beta_1.
        var schedule = new NoiseSchedule(new NoiseScheduleOptions { NumTrainTimesteps = 50, BetaStart = 0.002, BetaEnd = 0.4 });
        var exact = new GaussianDataDenoiser(schedule, [0.1, 0.1, 0.1], [0.3, 0.3, 0.3]);
        float[] x = Data.Value.AsSpan(0, 40 * 3).ToArray();
        DelegateDenoiser Learned(float v) => new([3], PredictionType.Epsilon, (xt, ts, labels, output) =>
        {
            var eps = new float[xt.Length];
            exact.Predict(xt, ts, labels, eps);
            for (int b = 0; b < ts.Length; b++)
            {
                eps.AsSpan(3 * b, 3).CopyTo(output.Slice(6 * b, 3));
                output.Slice(6 * b + 3, 3).Fill(v);
            }
        }, learnsVariance: true);
        double small = new VariationalBound(exact, schedule).Estimate(x).BitsPerDim;
        double large = new VariationalBound(exact, schedule, new VariationalBoundOptions { VarianceType = DdpmVarianceType.FixedLarge, DecoderVariance = DecoderVariance.Beta })
            .Estimate(x).BitsPerDim;
        Assert.AreNotEqual(small, large, 1e-3);
        Assert.AreEqual(small, new VariationalBound(Learned(-1), schedule).Estimate(x).BitsPerDim, 1e-9 * small);
        Assert.AreEqual(large, new VariationalBound(Learned(1), schedule).Estimate(x).BitsPerDim, 1e-9 * large);
    }

    [TestMethod]
    public void PredictionTypeDoesNotChangeTheBound()
    {
        var schedule = new NoiseSchedule(new NoiseScheduleOptions { NumTrainTimesteps = 50, BetaStart = 0.002, BetaEnd = 0.4 });
        var eps = new GaussianDataDenoiser(schedule, [0.1, 0.1, 0.1], [0.3, 0.3, 0.3]);
        float[] x = Data.Value.AsSpan(0, 40 * 3).ToArray();
        double reference = new VariationalBound(eps, schedule).Estimate(x).BitsPerDim;
        foreach (PredictionType type in new[] { PredictionType.VPrediction, PredictionType.Sample })
        {
            var wrapped = new DelegateDenoiser([3], type, (xt, ts, labels, output) =>
            {
                eps.Predict(xt, ts, labels, output);
                for (int i = 0; i < output.Length; i++)
                {
                    double abar = schedule.AlphaBar[(int)ts[i / 3]], a = Math.Sqrt(abar), s = Math.Sqrt(1 - abar);
                    double x0 = (xt[i] - s * output[i]) / a;
                    output[i] = (float)(type == PredictionType.Sample ? x0 : a * output[i] - s * x0); // v = sqrt(abar) eps - sqrt(1 - abar) x0
                }
            });
            Assert.AreEqual(reference, new VariationalBound(wrapped, schedule).Estimate(x).BitsPerDim, 1e-4 * reference, type.ToString());
        }
    }

    [TestMethod]
    public void ConditionalModelsGetTheirLabelsOrTheNullClass()
    {
        var schedule = new NoiseSchedule(new NoiseScheduleOptions { NumTrainTimesteps = 10, BetaStart = 0.01, BetaEnd = 0.5 });
        var seen = new List<int>();
        var denoiser = new DelegateDenoiser([2], PredictionType.Epsilon, (xt, ts, labels, output) =>
        {
            Assert.AreEqual(ts.Length, labels.Length);
            seen.AddRange(labels.ToArray());
            output.Clear();
        }, classCount: 3);
        float[] x = [-1f, 1f, -1f, 1f, 1f, -1f];
        var bound = new VariationalBound(denoiser, schedule, new VariationalBoundOptions { BatchSize = 4 });

        bound.Estimate(x);
        Assert.AreEqual(30, seen.Count);
        Assert.IsTrue(seen.All(l => l == 3), "no labels: the null class");

        seen.Clear();
        bound.Estimate(x, [2, 0, 3]);
        CollectionAssert.AreEqual(Enumerable.Repeat(2, 10).Concat(Enumerable.Repeat(0, 10)).Concat(Enumerable.Repeat(3, 10)).ToArray(), seen);

        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => bound.Estimate(x, [0, 1])).Message, "one class label per image");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => bound.Estimate(x, [0, 1, 4])).Message, "outside [0, 3]");
    }

    [TestMethod]
    public void ReportsProgressAndHonoursCancellation()
    {
        var schedule = new NoiseSchedule(new NoiseScheduleOptions { NumTrainTimesteps = 10, BetaStart = 0.01, BetaEnd = 0.5 });
        var bound = new VariationalBound(new GaussianDataDenoiser(schedule, [0.0], [0.5]), schedule, new VariationalBoundOptions { BatchSize = 4 });
        var reports = new List<VariationalBoundProgress>();
        bound.Estimate([1f, 1f, -1f], [], new SynchronousProgress(reports.Add));
        Assert.AreEqual(8, reports.Count); // 30 evaluations in batches of 4
        Assert.AreEqual(new VariationalBoundProgress(3, 3, 30), reports[^1]);
        Assert.IsTrue(reports.Zip(reports.Skip(1)).All(p => p.First.ImagesDone <= p.Second.ImagesDone));

        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        Assert.ThrowsExactly<OperationCanceledException>(() => bound.Estimate([1f], [], null, cancelled.Token));
    }

    [TestMethod]
    public void RejectsBadInput()
    {
        var schedule = new NoiseSchedule(new NoiseScheduleOptions { NumTrainTimesteps = 10, BetaStart = 0.01, BetaEnd = 0.5 });
        var bound = new VariationalBound(new GaussianDataDenoiser(schedule, [0.0, 0.0], [0.5, 0.5]), schedule);
        string Message(float[] x, int[]? labels = null) => Assert.ThrowsExactly<ArgumentException>(() => bound.Estimate(x, labels ?? [])).Message;

        StringAssert.Contains(Message([]), "No images");
        StringAssert.Contains(Message([0f, 0f, 0f]), "not a whole number of images of 2 values");
        StringAssert.Contains(Message([1f, float.NaN]), "must be finite");
        StringAssert.Contains(Message([1f, 1.5f]), "outside [-1, 1]; scale 8-bit pixels");
        StringAssert.Contains(Message([1f, 0.5f]), "not on the 8-bit grid");
        StringAssert.Contains(Message([1f, 0.5f]), "Quantise first");
        StringAssert.Contains(Message([1f, 1f], [0]), "unconditional");

        Assert.ThrowsExactly<ArgumentException>(() => new VariationalBound(bound.Denoiser, schedule, new VariationalBoundOptions { BatchSize = 0 }));
        Assert.ThrowsExactly<ArgumentException>(() => new VariationalBound(bound.Denoiser, schedule, new VariationalBoundOptions { TimestepsPerImage = 0 }));
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() =>
            new VariationalBound(bound.Denoiser, schedule, new VariationalBoundOptions { TimestepProposal = [1, 2, 3] })).Message, "one weight per timestep (10)");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() =>
            new VariationalBound(bound.Denoiser, schedule, new VariationalBoundOptions { TimestepProposal = [5, 0, 0, 0, 0, 0, 0, 0, 0, 0] })).Message, "no weight");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => VariationalBound.ImportanceProposal(
            new VariationalBound(bound.Denoiser, schedule, new VariationalBoundOptions { Estimator = VariationalBoundEstimator.Sampled }).Estimate([1f, 1f]))).Message, "Full");
    }

    /// <summary>VLB - NLL per image (paired, so the spread of the data cancels), its standard error, and the sample's mean NLL.</summary>
    private static (double Gap, double StandardError, double SampleNll) PairedGap(VariationalBoundResult vlb, double[] logP2)
    {
        int n = vlb.ImageCount, d = vlb.Dimensions;
        float[] x = Data.Value;
        var gaps = new double[n];
        double nllSum = 0;
        for (int i = 0; i < n; i++)
        {
            double nll = 0;
            for (int j = 0; j < d; j++) nll -= logP2[(int)Math.Round((x[i * d + j] + 1) * 127.5)];
            nll /= d;
            nllSum += nll;
            gaps[i] = vlb.PerImageBitsPerDim[i] - nll;
        }
        double mean = gaps.Average();
        double se = Math.Sqrt(gaps.Sum(g => (g - mean) * (g - mean)) / (n - 1) / n);
        return (mean, se, nllSum / n);
    }

    /// <summary>log2 of the mass of N(mu, sigma^2) on each of the 256 bins [x_k -+ 1/255] (edge bins to +-inf), by Simpson's rule.</summary>
    private static double[] QuantisedGaussianLog2Probabilities(double mu, double sigma)
    {
        static double Density(double z) => Math.Exp(-0.5 * z * z) / Math.Sqrt(2 * Math.PI);
        static double Simpson(double a, double b, int intervals)
        {
            double h = (b - a) / intervals, sum = Density(a) + Density(b);
            for (int i = 1; i < intervals; i++) sum += (i % 2 == 1 ? 4 : 2) * Density(a + i * h);
            return sum * h / 3;
        }
        double Edge(int k) => ((2.0 * k - 1) / 255 - 1 - mu) / sigma; // lower edge of bin k
        var p = new double[256];
        p[0] = Simpson(-40, Edge(1), 20000);
        for (int k = 1; k < 255; k++) p[k] = Simpson(Edge(k), Edge(k + 1), 16);
        p[255] = Simpson(Edge(255), 40, 20000);
        Assert.AreEqual(1.0, p.Sum(), 1e-12, "the bins cover the line");
        return p.Select(v => Math.Log2(v)).ToArray();
    }

    private sealed class SynchronousProgress(Action<VariationalBoundProgress> report) : IProgress<VariationalBoundProgress>
    {
        public void Report(VariationalBoundProgress value) => report(value);
    }
}
