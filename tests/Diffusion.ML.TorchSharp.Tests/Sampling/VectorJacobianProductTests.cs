using System.Diagnostics;
using Diffusion.ML.Sampling;
using Diffusion.ML.Schedules;
using Diffusion.ML.ScoreSde;
using Diffusion.ML.TorchSharp.Modules;
using Diffusion.ML.TorchSharp.Sampling;
using static TorchSharp.torch;

namespace Diffusion.ML.TorchSharp.Tests.Sampling;

/// <summary>
/// <see cref="TorchSharpDenoiser"/>'s autograd vector-Jacobian products of the noise estimate against central differences
/// of its plain forward pass converted by the core (<see cref="ModelOutputs"/>), and the probability-flow likelihood with
/// them against the finite-difference estimator.
/// </summary>
[TestClass]
public sealed class VectorJacobianProductTests
{
    private static readonly NoiseSchedule Schedule = new(new NoiseScheduleOptions());

    [TestInitialize]
    public void LoadTorch()
    {
        TorchSharpRuntime.EnsureLoaded();
        set_num_threads(1);
    }

    /// <summary>A random class-conditional MLP on R^dimensions in eval mode (its zero-initialised output layer made random).</summary>
    private static MlpDenoiser RandomMlp(int dimensions, int classCount = 0)
    {
        manual_seed(11);
        var net = new MlpDenoiser(new MlpDenoiserOptions { InputDim = dimensions, HiddenWidth = 16, HiddenLayers = 2, ClassCount = classCount });
        using (no_grad()) net.OutputLayer.weight!.normal_(0, 0.5);
        net.eval();
        return net;
    }

    /// <summary>Row-major values from the (seed, index) stream: standard normal times <paramref name="scale"/>.</summary>
    private static float[] Normal(int count, long seed, double scale = 1)
    {
        var noise = new SampleNoise(seed, 0);
        return Enumerable.Range(0, count).Select(_ => (float)(scale * noise.NextStandardNormal())).ToArray();
    }

    /// <summary>eps of each row from the plain forward pass (prediction only) and the core's conversion.</summary>
    private static double[] Noise(IDenoiser denoiser, float[] x, float[] t, int[] labels)
    {
        int d = x.Length / t.Length;
        var output = new float[x.Length];
        PredictionOnlyDenoiser.Of(denoiser).Predict(x, t, labels, output);
        var eps = new float[x.Length];
        var x0 = new float[d];
        for (int b = 0; b < t.Length; b++)
            ModelOutputs.ToSampleAndNoise(denoiser.PredictionType, Schedule.InterpolatedAlphaBar(t[b]), x.AsSpan(b * d, d), output.AsSpan(b * d, d),
                x0, eps.AsSpan(b * d, d));
        return eps.Select(e => (double)e).ToArray();
    }

    /// <summary>J_b[i, j] = d eps_i / d x_j of each row by central differences (x_j +- h, the float-rounded step), all in one batch.</summary>
    private static double[][,] CentralDifferenceJacobians(IDenoiser denoiser, float[] x, float[] t, int[] labels, float h)
    {
        int batch = t.Length, d = x.Length / batch, rows = batch * 2 * d;
        var shifted = new float[rows * d];
        var rowTimes = new float[rows];
        var rowLabels = new int[labels.Length == 0 ? 0 : rows];
        for (int b = 0; b < batch; b++)
            for (int j = 0; j < d; j++)
                for (int side = 0; side < 2; side++)
                {
                    int row = (b * d + j) * 2 + side;
                    x.AsSpan(b * d, d).CopyTo(shifted.AsSpan(row * d, d));
                    shifted[row * d + j] += side == 0 ? h : -h;
                    rowTimes[row] = t[b];
                    if (rowLabels.Length > 0) rowLabels[row] = labels[b];
                }
        double[] eps = Noise(denoiser, shifted, rowTimes, rowLabels);
        var jacobians = new double[batch][,];
        for (int b = 0; b < batch; b++)
        {
            jacobians[b] = new double[d, d];
            for (int j = 0; j < d; j++)
            {
                int plus = (b * d + j) * 2, minus = plus + 1;
                double step = (double)shifted[plus * d + j] - shifted[minus * d + j];
                for (int i = 0; i < d; i++) jacobians[b][i, j] = (eps[plus * d + i] - eps[minus * d + i]) / step;
            }
        }
        return jacobians;
    }

    /// <summary>
    /// The autograd eps and v^T J of random probes equal the core's eps and v^T of the central-difference Jacobian, and the
    /// products with the D basis vectors sum to its trace.
    /// </summary>
    private static void AssertMatchesCentralDifferences(TorchSharpDenoiser denoiser, float[] x, float[] t, int[] labels, float h, double tolerance)
    {
        int batch = t.Length, d = x.Length / batch;
        double[] alphaBars = t.Select(s => Schedule.InterpolatedAlphaBar(s)).ToArray();
        float[] probes = Normal(x.Length, seed: 5);
        var eps = new float[x.Length];
        var products = new float[x.Length];
        denoiser.PredictNoiseAndVectorJacobianProduct(x, t, alphaBars, labels, probes, eps, products);

        double[] expectedEps = Noise(denoiser, x, t, labels);
        double[][,] jacobians = CentralDifferenceJacobians(denoiser, x, t, labels, h);
        double worst = 0;
        for (int b = 0; b < batch; b++)
        {
            double scale = 0;
            foreach (double entry in jacobians[b]) scale = Math.Max(scale, Math.Abs(entry));
            for (int j = 0; j < d; j++)
            {
                double expected = 0;
                for (int i = 0; i < d; i++) expected += probes[b * d + i] * jacobians[b][i, j];
                Assert.AreEqual(expectedEps[b * d + j], eps[b * d + j], 1e-5 * (1 + Math.Abs(expectedEps[b * d + j])), $"row {b}: eps_{j}");
                Assert.AreEqual(expected, products[b * d + j], tolerance * scale * Math.Sqrt(d), $"row {b}: (v^T J)_{j}");
                worst = Math.Max(worst, Math.Abs(expected - products[b * d + j]) / (scale * Math.Sqrt(d)));
            }
        }
        Console.WriteLine($"{denoiser.PredictionType}: largest |v^T J - central differences| / (max |J| sqrt(D)) = {worst:E2}");

        // The trace: row b * D + j holds x_b with probe e_j, and sum_j (e_j^T J)_j = tr J.
        var repeated = new float[batch * d * d];
        var basis = new float[batch * d * d];
        for (int row = 0; row < batch * d; row++)
        {
            x.AsSpan(row / d * d, d).CopyTo(repeated.AsSpan(row * d, d));
            basis[row * d + row % d] = 1;
        }
        var columnProducts = new float[repeated.Length];
        denoiser.PredictNoiseAndVectorJacobianProduct(repeated, t.SelectMany(s => Enumerable.Repeat(s, d)).ToArray(),
            alphaBars.SelectMany(a => Enumerable.Repeat(a, d)).ToArray(), labels.SelectMany(l => Enumerable.Repeat(l, d)).ToArray(), basis,
            new float[repeated.Length], columnProducts);
        for (int b = 0; b < batch; b++)
        {
            double trace = 0, expected = 0, scale = 0;
            for (int j = 0; j < d; j++)
            {
                trace += columnProducts[(b * d + j) * d + j];
                expected += jacobians[b][j, j];
                scale += Math.Abs(jacobians[b][j, j]);
            }
            Assert.AreEqual(expected, trace, tolerance * Math.Max(scale, 1), $"row {b}: trace");
        }
    }

    [TestMethod]
    [DataRow(PredictionType.Epsilon)]
    [DataRow(PredictionType.Sample)]
    [DataRow(PredictionType.VPrediction)]
    public void AutogradProductsMatchCentralDifferencesForEveryPredictionType(PredictionType type)
    {
        using var net = RandomMlp(dimensions: 4, classCount: 3);
        var denoiser = new TorchSharpDenoiser(net, type);
        float[] x = Normal(3 * 4, seed: 1);
        // Near t = 0 an x_0 model's eps = (x - a x_0) / s has a Jacobian of size 1 / s = 48; near T - 1 a v model's is mostly s I.
        AssertMatchesCentralDifferences(denoiser, x, [3.25f, 400.5f, 987.75f], [0, 2, 3], h: 1e-2f, tolerance: 2e-3);
    }

    [TestMethod]
    public void AutogradProductsOfALearnedVarianceUNetDifferentiateItsPredictionOnly()
    {
        manual_seed(3);
        using var net = new UNet(new UNetOptions
        {
            ImageSize = 8, BaseChannels = 16, GroupNormGroups = 8, ChannelMultipliers = [1, 2], AttentionResolutions = [4],
            AttentionHeads = 2, ResidualBlocksPerLevel = 1, LearnSigma = true,
        });
        using (no_grad()) net.OutputConvolution.weight!.normal_(0, 0.05);
        net.eval();
        var denoiser = new TorchSharpDenoiser(net, PredictionType.VPrediction);
        AssertMatchesCentralDifferences(denoiser, Normal(2 * 64, seed: 2), [150.5f, 720f], [], h: 1e-2f, tolerance: 2e-3);
    }

    [TestMethod]
    public void TheProductsLeaveParameterGradientsAloneAndRefuseBadInput()
    {
        using var net = RandomMlp(dimensions: 2);
        var denoiser = new TorchSharpDenoiser(net, PredictionType.Epsilon);
        float[] x = [0.3f, -0.7f, 1.1f, 0.2f];
        float[] t = [10f, 500f];
        double[] alphaBars = [Schedule.InterpolatedAlphaBar(10), Schedule.InterpolatedAlphaBar(500)];
        var eps = new float[4];
        var products = new float[4];
        denoiser.PredictNoiseAndVectorJacobianProduct(x, t, alphaBars, [], [1f, -1f, 1f, 1f], eps, products);
        Assert.IsTrue(net.parameters().All(p => p.grad is null), "no parameter gradient is computed or accumulated");

        Assert.ThrowsExactly<ArgumentException>(() =>
            denoiser.PredictNoiseAndVectorJacobianProduct(x, t, alphaBars, [], [1f, -1f, 1f], eps, products), "one probe value short");
        Assert.ThrowsExactly<ArgumentException>(() =>
            denoiser.PredictNoiseAndVectorJacobianProduct(x, t, alphaBars.AsSpan(0, 1), [], [1f, -1f, 1f, 1f], eps, products), "alpha-bars short");
        net.train();
        Assert.ThrowsExactly<InvalidOperationException>(() =>
            denoiser.PredictNoiseAndVectorJacobianProduct(x, t, alphaBars, [], [1f, -1f, 1f, 1f], eps, products), "training mode");
    }

    /// <summary>Counts the model rows a denoiser evaluates; it hides any vector-Jacobian products of the wrapped model.</summary>
    private class CountingDenoiser(IDenoiser inner) : IDenoiser
    {
        public long Rows { get; protected set; }
        public IReadOnlyList<int> SampleShape => inner.SampleShape;
        public PredictionType PredictionType => inner.PredictionType;
        public int ClassCount => inner.ClassCount;

        public void Predict(ReadOnlySpan<float> x, ReadOnlySpan<float> timesteps, ReadOnlySpan<int> classLabels, Span<float> output)
        {
            Rows += timesteps.Length;
            inner.Predict(x, timesteps, classLabels, output);
        }
    }

    /// <summary>Counts the rows of forward and vector-Jacobian evaluations alike.</summary>
    private sealed class CountingVectorJacobianDenoiser(IVectorJacobianDenoiser inner) : CountingDenoiser(inner), IVectorJacobianDenoiser
    {
        private readonly IVectorJacobianDenoiser _inner = inner;

        public void PredictNoiseAndVectorJacobianProduct(ReadOnlySpan<float> x, ReadOnlySpan<float> timesteps, ReadOnlySpan<double> alphaBars,
            ReadOnlySpan<int> classLabels, ReadOnlySpan<float> probes, Span<float> eps, Span<float> vectorJacobianProducts)
        {
            Rows += timesteps.Length;
            _inner.PredictNoiseAndVectorJacobianProduct(x, timesteps, alphaBars, classLabels, probes, eps, vectorJacobianProducts);
        }
    }

    /// <summary>
    /// Runs the likelihood of six points with and without the vector-Jacobian products (same probes) and compares the mean to
    /// 1e-3 and each sample to 2e-3, relative: the finite differences' own float32 error is a few 1e-4 (their answer moves by
    /// that when the step goes from 1e-3 to 1e-2), the autograd products have none.
    /// </summary>
    private static void AssertAutogradAgreesWithFiniteDifferences(DivergenceEstimator estimator, int probes)
    {
        using var net = RandomMlp(dimensions: 3, classCount: 2);
        var torchDenoiser = new TorchSharpDenoiser(net, PredictionType.VPrediction);
        var finite = new CountingDenoiser(torchDenoiser);
        var autograd = new CountingVectorJacobianDenoiser(torchDenoiser);
        float[] data = Normal(6 * 3, seed: 8, scale: 0.7);
        int[] labels = [0, 1, 2];

        var finiteLikelihood = new ProbabilityFlowLikelihood(finite, Schedule, divergence: estimator, probes: probes);
        var autogradLikelihood = new ProbabilityFlowLikelihood(autograd, Schedule, divergence: estimator, probes: probes);
        Assert.IsFalse(finiteLikelihood.UsesVectorJacobianProducts);
        Assert.IsTrue(autogradLikelihood.UsesVectorJacobianProducts);
        var clock = Stopwatch.StartNew();
        LikelihoodResult byDifferences = finiteLikelihood.Evaluate(data, seed: 4, classLabels: labels);
        double differenceSeconds = clock.Elapsed.TotalSeconds;
        clock.Restart();
        LikelihoodResult byAutograd = autogradLikelihood.Evaluate(data, seed: 4, classLabels: labels);
        double autogradSeconds = clock.Elapsed.TotalSeconds;

        double worst = 0;
        for (int k = 0; k < data.Length / 3; k++)
        {
            double expected = byDifferences.LogLikelihoods[k], scale = Math.Max(1, Math.Abs(expected));
            Assert.AreEqual(expected, byAutograd.LogLikelihoods[k], 2e-3 * scale, $"sample {k}");
            worst = Math.Max(worst, Math.Abs(byAutograd.LogLikelihoods[k] - expected) / scale);
        }
        Assert.AreEqual(byDifferences.Mean, byAutograd.Mean, 1e-3 * Math.Abs(byDifferences.Mean), "mean");
        Assert.AreEqual(byDifferences.FunctionEvaluations.Sum() * (long)byDifferences.RowsPerEvaluation, finite.Rows, "finite-difference rows");
        Assert.AreEqual(byAutograd.FunctionEvaluations.Sum() * (long)byAutograd.RowsPerEvaluation, autograd.Rows, "autograd rows");
        Assert.IsLessThan(finite.Rows, autograd.Rows);
        Console.WriteLine($"{estimator}, {probes} probe(s): log p {byDifferences.Mean:F5} (finite differences, {finite.Rows} rows, {differenceSeconds:F2} s) " +
            $"vs {byAutograd.Mean:F5} (autograd, {autograd.Rows} rows, {autogradSeconds:F2} s); largest relative difference {worst:E2}");
    }

    [TestMethod]
    public void AutogradHutchinsonAgreesWithFiniteDifferencesWithFewerRows() =>
        AssertAutogradAgreesWithFiniteDifferences(DivergenceEstimator.HutchinsonRademacher, probes: 2);

    [TestMethod]
    public void AutogradExactTraceAgreesWithFiniteDifferences() =>
        AssertAutogradAgreesWithFiniteDifferences(DivergenceEstimator.ExactTrace, probes: 1);
}
