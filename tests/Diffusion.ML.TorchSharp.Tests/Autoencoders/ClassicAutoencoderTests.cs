using Diffusion.ML.Sampling;
using Diffusion.ML.TorchSharp.Autoencoders;
using TorchSharp;
using static TorchSharp.torch;

namespace Diffusion.ML.TorchSharp.Tests.Autoencoders;

[TestClass]
public sealed class ClassicAutoencoderTests
{
    [TestInitialize]
    public void LoadTorch() => TorchSharpRuntime.EnsureLoaded();

    [TestMethod]
    public void ContractivePenaltyEqualsAFiniteDifferenceJacobianNorm()
    {
        using var ae = TinyAutoencoders.Classic(ClassicAutoencoderKind.Contractive, hidden: 5);
        ae.to(ScalarType.Float64);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var x = tensor(TinyAutoencoders.Uniform(2 * 64, 8).Select(v => (double)v).ToArray(), [2, 1, 8, 8]);
        var penalty = AutoencoderMath.ContractivePenalty(ae.Encode(x), ae.EncoderWeight).data<double>().ToArray();
        const double delta = 1e-5;
        for (int b = 0; b < 2; b++)
        {
            double frobenius = 0;
            var sample = x[b].unsqueeze(0);
            for (int i = 0; i < 64; i++)
            {
                var step = zeros_like(sample).view(-1).index_fill_(0, tensor(new long[] { i }), delta).view(1, 1, 8, 8);
                var column = (ae.Encode(sample + step) - ae.Encode(sample - step)) / (2 * delta); // dh/dx_i, central difference
                frobenius += column.square().sum().item<double>();
            }
            Assert.AreEqual(frobenius, penalty[b], 1e-6 * frobenius, $"sample {b}");
        }
    }

    [TestMethod]
    public void KSparseKeepsExactlyKPerSample()
    {
        using var ae = TinyAutoencoders.Classic(ClassicAutoencoderKind.KSparse, hidden: 12, k: 3);
        using var scope = NewDisposeScope();
        var x = tensor(TinyAutoencoders.Uniform(6 * 64, 9), [6, 1, 8, 8]);
        var h = ae.Encode(x);
        var nonZero = h.ne(0).sum([1]).data<long>().ToArray();
        CollectionAssert.AreEqual(Enumerable.Repeat(3L, 6).ToArray(), nonZero);
        // The kept units are the 3 largest pre-activations W x + b.
        using var noGrad = no_grad();
        var pre = x.reshape(6, -1).matmul(ae.EncoderWeight.t()) + ae.named_parameters().First(p => p.name == "encoder.bias").parameter;
        var threshold = pre.topk(3, dim: 1).values[.., 2].unsqueeze(1);
        Assert.IsTrue(h.allclose(where(pre >= threshold, pre, zeros_like(pre)), atol: 1e-6));
    }

    [TestMethod]
    public void SparsityPenaltyMatchesTheKlFormula()
    {
        using var scope = NewDisposeScope();
        var h = tensor(new double[] { 0.1, 0.5, 0.3, 0.02 }, [2, 2]); // rho_hat = (0.2, 0.26)
        double rho = 0.05, expected = 0;
        foreach (double r in new[] { 0.2, 0.26 }) expected += rho * Math.Log(rho / r) + (1 - rho) * Math.Log((1 - rho) / (1 - r));
        Assert.AreEqual(expected, AutoencoderMath.SparsityKl(h, rho).item<double>(), 1e-12);
    }

    [TestMethod]
    public void DenoisingCorruptions()
    {
        using var scope = NewDisposeScope();
        var x = full(1, 1, 64, 64, 0.5f);
        torch.manual_seed(1);
        var masking = new ClassicAutoencoder(new ClassicAutoencoderOptions { Kind = ClassicAutoencoderKind.Denoising, ImageHeight = 64, ImageWidth = 64, CorruptionLevel = 0.25 });
        var masked = masking.Corrupt(x, new SampleNoise(1, 0)).data<float>().ToArray();
        Assert.IsTrue(masked.All(v => v == 0.5f || v == -1f), "masked values become -1, the rest is unchanged");
        double fraction = masked.Count(v => v == -1f) / 4096.0;
        Assert.AreEqual(0.25, fraction, 4 * Math.Sqrt(0.25 * 0.75 / 4096), "the masking probability");

        var gaussian = new ClassicAutoencoder(new ClassicAutoencoderOptions
        {
            Kind = ClassicAutoencoderKind.Denoising, ImageHeight = 64, ImageWidth = 64, Corruption = InputCorruption.Gaussian, CorruptionLevel = 0.3,
        });
        var noisy = gaussian.Corrupt(x, new SampleNoise(2, 0)) - x;
        Assert.AreEqual(0.3, noisy.std().item<float>(), 4 * 0.3 / Math.Sqrt(2 * 4096), "sigma of the added noise");
        masking.Dispose();
        gaussian.Dispose();
    }

    [TestMethod]
    public void LossAddsTheWeightedPenalty()
    {
        using var ae = TinyAutoencoders.Classic(ClassicAutoencoderKind.Contractive);
        using var scope = NewDisposeScope();
        var x = tensor(TinyAutoencoders.Uniform(3 * 64, 10), [3, 1, 8, 8]);
        var loss = ae.Loss(x, new SampleNoise(1, 0));
        var h = ae.Encode(x);
        double expectedPenalty = 0.1 * AutoencoderMath.ContractivePenalty(h, ae.EncoderWeight).mean().item<float>();
        double squared = (ae.call(x) - x).square().sum().item<float>() / 3;
        Assert.AreEqual(expectedPenalty, loss.Terms["penalty"].item<float>(), 1e-6);
        Assert.AreEqual(squared + expectedPenalty, loss.Total.item<float>(), 1e-4 * squared);
    }
}
