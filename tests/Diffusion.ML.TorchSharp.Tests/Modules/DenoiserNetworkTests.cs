using Diffusion.ML.TorchSharp.Modules;
using TorchSharp;
using static TorchSharp.torch;

namespace Diffusion.ML.TorchSharp.Tests.Modules;

[TestClass]
public sealed class DenoiserNetworkTests
{
    [TestMethod]
    public void Create_RebuildsUNetFromStoredConfig()
    {
        torch.manual_seed(0);
        using DenoiserNetwork original = new UNet(new UNetOptions
        {
            ImageSize = 8, BaseChannels = 16, GroupNormGroups = 8, ChannelMultipliers = [1, 2],
            AttentionResolutions = [4], AttentionHeads = 2, ResidualBlocksPerLevel = 1, ClassCount = 10,
        });
        using var rebuilt = DenoiserNetwork.Create(original.Kind, original.ConfigJson);
        Assert.IsInstanceOfType<UNet>(rebuilt);
        Assert.AreEqual(original.ParameterCount, rebuilt.ParameterCount);
        Assert.AreEqual(original.ConfigJson, rebuilt.ConfigJson);
        Assert.AreEqual(10, rebuilt.ClassCount);
        CollectionAssert.AreEqual(original.SampleShape, rebuilt.SampleShape);
        CollectionAssert.AreEqual(
            original.state_dict().Keys.ToList(), rebuilt.state_dict().Keys.ToList(), "state-dict keys must match for checkpoint loading");
    }

    [TestMethod]
    public void Create_RebuildsMlpFromStoredConfig()
    {
        using DenoiserNetwork original = new MlpDenoiser(new MlpDenoiserOptions { InputDim = 2, HiddenWidth = 64, HiddenLayers = 4, ClassCount = 3 });
        using var rebuilt = DenoiserNetwork.Create("MLP", original.ConfigJson);
        Assert.IsInstanceOfType<MlpDenoiser>(rebuilt);
        Assert.AreEqual(original.ParameterCount, rebuilt.ParameterCount);
        Assert.AreEqual(3, rebuilt.ClassCount);
    }

    [TestMethod]
    public void Create_UnknownKind_Throws()
    {
        var ex = Assert.ThrowsExactly<ArgumentException>(() => DenoiserNetwork.Create("transformer", "{}"));
        StringAssert.Contains(ex.Message, "transformer");
    }

    [TestMethod]
    public void SinusoidalEmbedding_HasSinThenCosHalves()
    {
        using var t = torch.tensor(new[] { 0f, 2.5f });
        using var e = TimestepEmbedding.Sinusoidal(t, 8);
        CollectionAssert.AreEqual(new long[] { 2, 8 }, e.shape);
        var row0 = e[0].data<float>().ToArray();
        CollectionAssert.AreEqual(new[] { 0f, 0f, 0f, 0f, 1f, 1f, 1f, 1f }, row0);
        // Highest frequency is 1: sin(2.5) and cos(2.5).
        Assert.AreEqual(Math.Sin(2.5), e[1, 0].item<float>(), 1e-6);
        Assert.AreEqual(Math.Cos(2.5), e[1, 4].item<float>(), 1e-6);
        // Lowest frequency is 10000^(-3/4) = 0.001.
        Assert.AreEqual(Math.Sin(2.5 * 0.001), e[1, 3].item<float>(), 1e-6);
    }
}
