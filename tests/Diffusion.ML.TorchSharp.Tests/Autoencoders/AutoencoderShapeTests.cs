using Diffusion.ML.Sampling;
using Diffusion.ML.TorchSharp.Autoencoders;
using TorchSharp;
using static TorchSharp.torch;

namespace Diffusion.ML.TorchSharp.Tests.Autoencoders;

[TestClass]
public sealed class AutoencoderShapeTests
{
    [TestInitialize]
    public void LoadTorch() => TorchSharpRuntime.EnsureLoaded();

    [TestMethod]
    public void VaeShapes()
    {
        using var vae = TinyAutoencoders.Vae();
        using var scope = NewDisposeScope();
        var x = tensor(TinyAutoencoders.Uniform(3 * 64, 1), [3, 1, 8, 8]);
        CollectionAssert.AreEqual(new long[] { 2, 4, 4 }, vae.LatentShape);
        var (mean, logVariance) = vae.EncodeDistribution(x);
        CollectionAssert.AreEqual(new long[] { 3, 2, 4, 4 }, mean.shape);
        CollectionAssert.AreEqual(new long[] { 3, 2, 4, 4 }, logVariance.shape);
        CollectionAssert.AreEqual(new long[] { 3, 1, 8, 8 }, vae.Decode(mean).shape);
        CollectionAssert.AreEqual(new long[] { 3, 1, 8, 8 }, vae.call(x).shape);
        var loss = vae.Loss(x, new SampleNoise(1, 0));
        Assert.AreEqual(0, loss.Total.dim());
        CollectionAssert.IsSubsetOf(new[] { "reconstruction", "kl", "neg_elbo", "mse" }, loss.Terms.Keys.ToArray());
    }

    [TestMethod]
    public void VqVaeShapes()
    {
        using var vq = TinyAutoencoders.VqVae();
        using var scope = NewDisposeScope();
        var x = tensor(TinyAutoencoders.Uniform(2 * 64, 2), [2, 1, 8, 8]);
        CollectionAssert.AreEqual(new long[] { 3, 4, 4 }, vq.LatentShape);
        CollectionAssert.AreEqual(new long[] { 2, 3, 4, 4 }, vq.EncodeContinuous(x).shape);
        var indices = vq.EncodeIndices(x);
        CollectionAssert.AreEqual(new long[] { 2, 4, 4 }, indices.shape);
        Assert.AreEqual(ScalarType.Int64, indices.dtype);
        CollectionAssert.AreEqual(new long[] { 2, 3, 4, 4 }, vq.Encode(x).shape);
        CollectionAssert.AreEqual(new long[] { 2, 1, 8, 8 }, vq.DecodeIndices(indices).shape);
        CollectionAssert.AreEqual(new long[] { 2, 1, 8, 8 }, vq.call(x).shape);
        Assert.AreEqual(32f, vq.CodeCounts(x).sum().item<float>(), "one code per latent position");
    }

    [TestMethod]
    public void ClassicShapes()
    {
        foreach (var kind in Enum.GetValues<ClassicAutoencoderKind>())
        {
            using var ae = TinyAutoencoders.Classic(kind);
            using var scope = NewDisposeScope();
            var x = tensor(TinyAutoencoders.Uniform(4 * 64, 3), [4, 1, 8, 8]);
            CollectionAssert.AreEqual(new long[] { 4, 12 }, ae.Encode(x).shape, kind.ToString());
            CollectionAssert.AreEqual(new long[] { 4, 1, 8, 8 }, ae.call(x).shape, kind.ToString());
            Assert.IsTrue(double.IsFinite(ae.Loss(x, new SampleNoise(2, 0)).Total.item<float>()), kind.ToString());
        }
    }

    [TestMethod]
    public void OptionsRoundTripThroughJsonAndRebuildTheSameArchitecture()
    {
        var vq = new VqVaeOptions { Backbone = TinyAutoencoders.Backbone, CodebookSize = 9, EmaUpdates = false, KMeansInit = true };
        var back = VqVaeOptions.FromJson(vq.ToJson());
        Assert.AreEqual(vq with { Backbone = back.Backbone }, back);
        CollectionAssert.AreEqual(vq.Backbone.LevelChannels, back.Backbone.LevelChannels);
        var vae = new VaeOptions { Likelihood = ReconstructionLikelihood.Bernoulli, Beta = 4 };
        StringAssert.Contains(vae.ToJson(), "\"likelihood\":\"Bernoulli\"");
        Assert.AreEqual(ReconstructionLikelihood.Bernoulli, VaeOptions.FromJson(vae.ToJson()).Likelihood);
        var classic = new ClassicAutoencoderOptions { Kind = ClassicAutoencoderKind.KSparse, K = 7, HiddenUnits = 30 };
        Assert.AreEqual(classic, ClassicAutoencoderOptions.FromJson(classic.ToJson()));

        using var model = ImageAutoencoder.Create(VqVae.KindName, vq.ToJson());
        CollectionAssert.AreEqual(new long[] { 16, 4, 4 }, model.LatentShape);
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => ImageAutoencoder.Create("gan", "{}")).Message, "Unknown autoencoder kind 'gan'");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => VqVaeOptions.FromJson("{\"emaDecay\": 1.5}")).Message, "EmaDecay must lie in [0, 1)");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => ClassicAutoencoderOptions.FromJson("{\"kind\":\"KSparse\",\"k\":0}")).Message, "K must lie in 1..HiddenUnits");
    }

    [TestMethod]
    public void WrongImageSizeSaysWhatWasExpected()
    {
        using var vae = TinyAutoencoders.Vae();
        using var scope = NewDisposeScope();
        var wrong = zeros(2, 1, 9, 8);
        var e = Assert.ThrowsExactly<ArgumentException>(() => vae.Encode(wrong));
        StringAssert.Contains(e.Message, "[batch, 1, 8, 8]");
        StringAssert.Contains(e.Message, "[2, 1, 9, 8]");
        var backbone = new ConvBackboneOptions { ImageHeight = 30, ImageWidth = 28, LevelChannels = [8, 8, 8], GroupNormGroups = 4 };
        var bad = Assert.ThrowsExactly<ArgumentException>(() => backbone.Validate());
        StringAssert.Contains(bad.Message, "divisible by 2^(levels - 1) = 4");
    }
}
