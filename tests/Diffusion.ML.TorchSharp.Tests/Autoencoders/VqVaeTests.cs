using Diffusion.ML.Sampling;
using Diffusion.ML.TorchSharp.Autoencoders;
using TorchSharp;
using static TorchSharp.torch;

namespace Diffusion.ML.TorchSharp.Tests.Autoencoders;

[TestClass]
public sealed class VqVaeTests
{
    [TestInitialize]
    public void LoadTorch() => TorchSharpRuntime.EnsureLoaded();

    /// <summary>A 3-code, 2-D quantizer with gamma = 0.5 and eps = 0.1 (large, so the smoothing shows).</summary>
    private static VectorQuantizer Toy(double[] codebook, double[] clusterSize, double[] embedSum, bool ema = true)
    {
        var q = new VectorQuantizer(new VqVaeOptions
        {
            Backbone = TinyAutoencoders.Backbone, CodebookSize = 3, CodeDimension = 2, EmaDecay = 0.5, LaplaceEpsilon = 0.1,
            DeadCodeThreshold = 0, EmaUpdates = ema,
        });
        using (no_grad())
        {
            q.Codebook.copy_(tensor(codebook, [3, 2]));
            q.ClusterSize.copy_(tensor(clusterSize));
            q.EmbedSum.copy_(tensor(embedSum, [3, 2]));
        }
        return q;
    }

    [TestMethod]
    public void OneEmaUpdateEqualsTheHandComputation()
    {
        // e = (0,0), (1,0), (0,1); N = 1, 1, 1; m = e. Four vectors, two on code 0, two on code 1, none on code 2.
        using var q = Toy([0, 0, 1, 0, 0, 1], [1, 1, 1], [0, 0, 1, 0, 0, 1]);
        using var scope = NewDisposeScope();
        var z = tensor(new float[] { 0.1f, 0.2f, 0.9f, 0.1f, 1.1f, -0.1f, 0.2f, 0.1f }, [4, 2]);
        var indices = tensor(new long[] { 0, 1, 1, 0 });
        CollectionAssert.AreEqual(indices.data<long>().ToArray(), q.NearestCodes(z).data<long>().ToArray(), "the nearest codes");
        q.UpdateCodebook(z, indices);

        // n = (2, 2, 0); N = 0.5 N + 0.5 n = (1.5, 1.5, 0.5)
        AssertClose([1.5, 1.5, 0.5], q.ClusterSize);
        // sum_j z_0j = (0.3, 0.3), sum_j z_1j = (2.0, 0.0); m = 0.5 m + 0.5 sum = (0.15, 0.15), (1.5, 0), (0, 0.5)
        AssertClose([0.15, 0.15, 1.5, 0, 0, 0.5], q.EmbedSum);
        // n_total = 3.5; N~ = (N + 0.1) / (3.5 + 3 * 0.1) * 3.5 = 5.6/3.8, 5.6/3.8, 2.1/3.8
        // e = m / N~ = (0.57/5.6, 0.57/5.6), (5.7/5.6, 0), (0, 1.9/2.1)
        AssertClose([0.57 / 5.6, 0.57 / 5.6, 5.7 / 5.6, 0, 0, 1.9 / 2.1], q.Codebook);
    }

    [TestMethod]
    public void LaplaceSmoothingNeverDividesByZeroForUnusedCodes()
    {
        // N = 0 and m = 0 for every code; one vector goes to code 0, codes 1 and 2 stay unused (N_1 = N_2 = 0 after the update).
        using var q = Toy([0, 0, 1, 0, 0, 1], [0, 0, 0], [0, 0, 0, 0, 0, 0]);
        using var scope = NewDisposeScope();
        q.UpdateCodebook(tensor(new float[] { 0.4f, -0.2f }, [1, 2]), tensor(new long[] { 0 }));
        AssertClose([0.5, 0, 0], q.ClusterSize);
        float[] e = q.Codebook.data<float>().ToArray();
        Assert.IsTrue(e.All(float.IsFinite), $"codebook {string.Join(", ", e)} must be finite");
        // N~_0 = (0.5 + 0.1) / (0.5 + 0.3) * 0.5 = 0.375, m_0 = 0.5 (0.4, -0.2) = (0.2, -0.1): e_0 = (0.2, -0.1) / 0.375; m_1 = m_2 = 0.
        AssertClose([0.2 / 0.375, -0.1 / 0.375, 0, 0, 0, 0], q.Codebook);
    }

    [TestMethod]
    public void NearestCodesMatchABruteForceSearch()
    {
        torch.manual_seed(3);
        using var q = new VectorQuantizer(new VqVaeOptions { Backbone = TinyAutoencoders.Backbone, CodebookSize = 7, CodeDimension = 4 });
        using var scope = NewDisposeScope();
        var z = randn(50, 4);
        long[] actual = q.NearestCodes(z).data<long>().ToArray();
        float[] zs = z.data<float>().ToArray(), es = q.Codebook.data<float>().ToArray();
        for (int j = 0; j < 50; j++)
        {
            int best = -1;
            double bestDistance = double.MaxValue;
            for (int i = 0; i < 7; i++)
            {
                double d = 0;
                for (int c = 0; c < 4; c++) d += Math.Pow(zs[j * 4 + c] - es[i * 4 + c], 2);
                if (d < bestDistance) (best, bestDistance) = (i, d);
            }
            Assert.AreEqual(best, actual[j], $"vector {j}");
        }
    }

    [TestMethod]
    public void ReconstructionGradientReachesTheEncoderThroughTheQuantizer()
    {
        using var vq = TinyAutoencoders.VqVae();
        using var scope = NewDisposeScope();
        var x = tensor(TinyAutoencoders.Uniform(2 * 64, 5), [2, 1, 8, 8]);
        var q = vq.Quantizer.Quantize(vq.EncodeContinuous(x), noise: null);
        var reconstruction = (vq.Decode(q.StraightThrough) - x).square().mean(); // the reconstruction loss alone
        reconstruction.backward();
        var encoderGrads = vq.named_parameters().Where(p => p.name.StartsWith("encoder.")).Select(p => p.parameter.grad).ToArray();
        Assert.IsTrue(encoderGrads.Length > 0);
        double norm = encoderGrads.Sum(g => g is null ? 0 : g.square().sum().item<float>());
        Assert.IsGreaterThan(0.0, norm, "the straight-through estimator passes the decoder's gradient to z_e");
        Assert.IsNull(vq.Quantizer.Codebook.grad, "with EMA updates the codebook gets no gradient");
        // Forward, the straight-through value is exactly z_q.
        Assert.IsTrue(q.StraightThrough.allclose(vq.Quantizer.Lookup(q.Indices), rtol: 0, atol: 1e-6));
    }

    [TestMethod]
    public void PerplexityAndUsage()
    {
        Assert.AreEqual(5.0, CodebookStatistics.Perplexity([3, 3, 3, 3, 3]), 1e-12, "uniform use of K codes has perplexity K");
        Assert.AreEqual(1.0, CodebookStatistics.Perplexity([0, 9, 0]), 1e-12);
        Assert.AreEqual(2.0, CodebookStatistics.Perplexity([4, 0, 4, 0]), 1e-12);
        Assert.AreEqual(0.5, CodebookStatistics.Usage([4, 0, 4, 0]));
        Assert.ThrowsExactly<ArgumentException>(() => CodebookStatistics.Perplexity([0, 0]));

        using var vq = TinyAutoencoders.VqVae(deadCodeThreshold: 0);
        using var scope = NewDisposeScope();
        var x = tensor(TinyAutoencoders.Uniform(2 * 64, 6), [2, 1, 8, 8]);
        var loss = vq.Loss(x, new SampleNoise(1, 0));
        double[] counts = [.. vq.CodeCounts(x).data<float>().ToArray().Select(c => (double)c)];
        Assert.AreEqual(CodebookStatistics.Perplexity(counts), loss.Terms["perplexity"].item<float>(), 1e-4);
        Assert.AreEqual(CodebookStatistics.Usage(counts), loss.Terms["usage"].item<float>(), 1e-6);
    }

    [TestMethod]
    public void DeadCodesRestartAtEncoderOutputs()
    {
        using var q = Toy([0, 0, 1, 0, 0, 1], [5, 0.2, 3], [0, 0, 5, 0, 0, 3]);
        using var scope = NewDisposeScope();
        var z = tensor(new float[] { 7, 8, 9, 10 }, [2, 2]);
        var restarted = new VectorQuantizer(q.Options with { DeadCodeThreshold = 1 });
        using (no_grad())
        {
            restarted.Codebook.copy_(q.Codebook);
            restarted.ClusterSize.copy_(q.ClusterSize);
            restarted.EmbedSum.copy_(q.EmbedSum);
        }
        Assert.AreEqual(1, restarted.RestartDeadCodes(z, new SampleNoise(1, 0)), "only code 1 has N < 1");
        float[] code1 = restarted.Codebook[1].data<float>().ToArray();
        Assert.IsTrue(code1.SequenceEqual(new float[] { 7, 8 }) || code1.SequenceEqual(new float[] { 9, 10 }), "code 1 is now an encoder output");
        AssertClose([5, 1, 3], restarted.ClusterSize);
        Assert.IsTrue(restarted.EmbedSum[1].allclose(restarted.Codebook[1]), "m_1 = N_1 e_1 with N_1 = 1");
        AssertClose([0, 0], restarted.Codebook[0]);
    }

    [TestMethod]
    public void KMeansInitialisationFindsSeparatedClusters()
    {
        torch.manual_seed(4);
        using var q = new VectorQuantizer(new VqVaeOptions
        {
            Backbone = TinyAutoencoders.Backbone, CodebookSize = 2, CodeDimension = 2, KMeansInit = true, KMeansIterations = 10,
        });
        Assert.IsFalse(q.IsInitialised);
        using var scope = NewDisposeScope();
        var points = cat([randn(40, 2) * 0.1 + tensor(new float[] { 5, 5 }), randn(40, 2) * 0.1 + tensor(new float[] { -5, 0 })]);
        q.KMeansInitialise(points, new SampleNoise(2, 0));
        Assert.IsTrue(q.IsInitialised);
        var centres = q.Codebook.data<float>().ToArray();
        var sorted = new[] { (centres[0], centres[1]), (centres[2], centres[3]) }.OrderBy(c => c.Item1).ToArray();
        double[] meanA = [.. points[..40].mean([0]).data<float>().ToArray().Select(v => (double)v)];
        double[] meanB = [.. points[40..].mean([0]).data<float>().ToArray().Select(v => (double)v)];
        Assert.AreEqual(meanB[0], sorted[0].Item1, 1e-5);
        Assert.AreEqual(meanB[1], sorted[0].Item2, 1e-5);
        Assert.AreEqual(meanA[0], sorted[1].Item1, 1e-5);
        Assert.AreEqual(meanA[1], sorted[1].Item2, 1e-5);
        AssertClose([40, 40], q.ClusterSize);
    }

    private static void AssertClose(double[] expected, Tensor actual)
    {
        double[] values = [.. actual.cpu().to_type(ScalarType.Float64).data<double>().ToArray()];
        Assert.HasCount(expected.Length, values);
        for (int i = 0; i < expected.Length; i++)
            Assert.AreEqual(expected[i], values[i], 1e-5, $"element {i}: expected {expected[i]}, got {values[i]}");
    }
}
