using Diffusion.ML.Sampling;
using Diffusion.ML.TorchSharp.Autoencoders;
using TorchSharp;
using static TorchSharp.torch;

namespace Diffusion.ML.TorchSharp.Tests.Autoencoders;

[TestClass]
public sealed class VaeTests
{
    private static readonly double[] Means = [0.3, -1.2, 0.0, 2.0];
    private static readonly double[] LogVariances = [-0.5, 0.7, 0.0, -2.0];

    [TestInitialize]
    public void LoadTorch() => TorchSharpRuntime.EnsureLoaded();

    [TestMethod]
    public void KlMatchesTheUnivariateGaussianFormula()
    {
        using var scope = NewDisposeScope();
        var kl = AutoencoderMath.GaussianKl(tensor(Means, [1, 4]), tensor(LogVariances, [1, 4])).item<double>();
        // KL(N(mu, s^2) || N(0, 1)) = log(1 / s) + (s^2 + mu^2) / 2 - 1/2, summed over independent dimensions.
        double expected = 0;
        for (int i = 0; i < Means.Length; i++)
        {
            double s = Math.Exp(LogVariances[i] / 2);
            expected += Math.Log(1 / s) + (s * s + Means[i] * Means[i]) / 2 - 0.5;
        }
        Assert.AreEqual(expected, kl, 1e-12);
    }

    [TestMethod]
    public void KlMatchesAMonteCarloEstimate()
    {
        using var scope = NewDisposeScope();
        double closedForm = AutoencoderMath.GaussianKl(tensor(Means, [1, 4]), tensor(LogVariances, [1, 4])).item<double>();
        // KL = E_q[log q(z) - log p(z)], z ~ q: average over n draws, with its standard error.
        const int n = 200_000;
        var rng = new SampleNoise(7, 0);
        double sum = 0, sumSquares = 0;
        for (int k = 0; k < n; k++)
        {
            double logRatio = 0;
            for (int i = 0; i < Means.Length; i++)
            {
                double s = Math.Exp(LogVariances[i] / 2), eps = rng.NextStandardNormal(), z = Means[i] + s * eps;
                logRatio += -Math.Log(s) - 0.5 * eps * eps + 0.5 * z * z; // log N(z; mu, s^2) - log N(z; 0, 1)
            }
            sum += logRatio;
            sumSquares += logRatio * logRatio;
        }
        double mean = sum / n, standardError = Math.Sqrt((sumSquares / n - mean * mean) / n);
        Assert.IsLessThan(4 * standardError, Math.Abs(mean - closedForm), $"MC {mean} +- {standardError}, closed form {closedForm}");
    }

    [TestMethod]
    public void ReconstructionLikelihoodsMatchTheirDensities()
    {
        using var scope = NewDisposeScope();
        double[] x = [0.5, -1, 1, 0.2], mean = [0.4, -0.7, 1.3, 0.2];
        double std = 0.3, gaussian = 0, bernoulli = 0;
        for (int i = 0; i < x.Length; i++)
        {
            gaussian -= Math.Log(Math.Exp(-(x[i] - mean[i]) * (x[i] - mean[i]) / (2 * std * std)) / (std * Math.Sqrt(2 * Math.PI)));
            double p = 1 / (1 + Math.Exp(-mean[i])), b = (x[i] + 1) / 2;  // mean used as logits
            bernoulli -= b * Math.Log(p) + (1 - b) * Math.Log(1 - p);
        }
        Assert.AreEqual(gaussian, AutoencoderMath.GaussianNll(tensor(x, [1, 4]), tensor(mean, [1, 4]), std).item<double>(), 1e-10);
        Assert.AreEqual(bernoulli, AutoencoderMath.BernoulliNll(tensor(x, [1, 4]), tensor(mean, [1, 4])).item<double>(), 1e-10);
    }

    [TestMethod]
    public void LossIsReconstructionPlusBetaKlAndTheElboUsesBetaOne()
    {
        using var vae = TinyAutoencoders.Vae(beta: 2.5);
        using var scope = NewDisposeScope();
        var x = tensor(TinyAutoencoders.Uniform(3 * 64, 4), [3, 1, 8, 8]);
        var loss = vae.Loss(x, new SampleNoise(3, 0));
        double rec = loss.Terms["reconstruction"].item<float>(), kl = loss.Terms["kl"].item<float>();
        Assert.AreEqual(rec + 2.5 * kl, loss.Total.item<float>(), 1e-3 * Math.Abs(rec));
        Assert.AreEqual(rec + kl, loss.Terms["neg_elbo"].item<float>(), 1e-3 * Math.Abs(rec));

        // The reparameterised sample: the same noise stream gives the same loss; another stream a different one.
        Assert.AreEqual(loss.Total.item<float>(), vae.Loss(x, new SampleNoise(3, 0)).Total.item<float>());
        Assert.AreNotEqual(loss.Total.item<float>(), vae.Loss(x, new SampleNoise(3, 1)).Total.item<float>());
    }

    [TestMethod]
    public void BernoulliDecoderMapsLogitsToTheDataScale()
    {
        using var vae = TinyAutoencoders.Vae(likelihood: ReconstructionLikelihood.Bernoulli);
        using var scope = NewDisposeScope();
        var z = randn(2, 2, 4, 4);
        var expected = 2 * vae.DecodeParameters(z).sigmoid() - 1;
        Assert.IsTrue(vae.Decode(z).allclose(expected));
    }
}
