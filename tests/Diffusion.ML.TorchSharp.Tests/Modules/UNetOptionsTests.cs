using Diffusion.ML.TorchSharp.Modules;

namespace Diffusion.ML.TorchSharp.Tests.Modules;

[TestClass]
public sealed class UNetOptionsTests
{
    [TestMethod]
    public void Defaults_AreTheReferenceConfig()
    {
        var o = new UNetOptions();
        o.Validate();
        Assert.AreEqual(1, o.ImageChannels);
        Assert.AreEqual(28, o.ImageSize);
        Assert.AreEqual(64, o.BaseChannels);
        CollectionAssert.AreEqual(new[] { 1, 2, 2 }, o.ChannelMultipliers.ToArray());
        CollectionAssert.AreEqual(new[] { 14, 7 }, o.AttentionResolutions.ToArray());
        Assert.AreEqual(256, o.EmbeddingDim);
        CollectionAssert.AreEqual(new[] { 28, 14, 7 }, o.LevelResolutions());
    }

    [TestMethod]
    public void ImageSizeNotDivisibleByDownsampling_Throws()
    {
        var ex = Assert.ThrowsExactly<ArgumentException>(() => new UNetOptions { ImageSize = 30, ChannelMultipliers = [1, 2, 2, 2] }.Validate());
        Assert.AreEqual(nameof(UNetOptions.ImageSize), ex.ParamName);
        StringAssert.Contains(ex.Message, "divisible by 2^(levels-1) = 8");
    }

    [TestMethod]
    public void ChannelsNotDivisibleByGroups_Throws()
    {
        var ex = Assert.ThrowsExactly<ArgumentException>(() => new UNetOptions { BaseChannels = 48, GroupNormGroups = 32 }.Validate());
        Assert.AreEqual(nameof(UNetOptions.GroupNormGroups), ex.ParamName);
        StringAssert.Contains(ex.Message, "divisible by GroupNormGroups");
    }

    [TestMethod]
    public void AttentionAtUnreachedResolution_Throws()
    {
        var ex = Assert.ThrowsExactly<ArgumentException>(() => new UNetOptions { ImageSize = 32, ImageChannels = 3 }.Validate());
        Assert.AreEqual(nameof(UNetOptions.AttentionResolutions), ex.ParamName);
        StringAssert.Contains(ex.Message, "[32, 16, 8]");
    }

    [TestMethod]
    public void OtherInvalidValues_Throw()
    {
        UNetOptions[] invalid =
        [
            new() { ImageChannels = 0 },
            new() { BaseChannels = 63, GroupNormGroups = 1 },
            new() { ChannelMultipliers = [] },
            new() { ChannelMultipliers = [1, 0, 2] },
            new() { ResidualBlocksPerLevel = 0 },
            new() { AttentionHeads = 3 },
            new() { Dropout = 1.0 },
            new() { ClassCount = -1 },
            new() { TimeEmbeddingMultiplier = 0 },
            new() { AttentionResolutions = null! },
        ];
        foreach (var o in invalid)
        {
            Assert.ThrowsExactly<ArgumentException>(o.Validate);
            Assert.ThrowsExactly<ArgumentException>(() => new UNet(o));
        }
    }

    [TestMethod]
    public void Json_RoundTrips()
    {
        var o = new UNetOptions { ImageSize = 8, ChannelMultipliers = [1, 2], AttentionResolutions = [4], ClassCount = 10, Dropout = 0.1, LearnSigma = true };
        var json = o.ToJson();
        var back = UNetOptions.FromJson(json);
        Assert.AreEqual(json, back.ToJson());
        Assert.AreEqual(10, back.ClassCount);
        CollectionAssert.AreEqual(new[] { 1, 2 }, back.ChannelMultipliers.ToArray());
        Assert.IsFalse(json.Contains("embeddingDim", StringComparison.OrdinalIgnoreCase), json);
    }

    [TestMethod]
    public void FromJson_MissingPropertiesTakeDefaults_AndInvalidJsonThrows()
    {
        Assert.AreEqual(28, UNetOptions.FromJson("{}").ImageSize);
        Assert.ThrowsExactly<ArgumentException>(() => UNetOptions.FromJson("{not json"));
        Assert.ThrowsExactly<ArgumentException>(() => UNetOptions.FromJson(""));
        Assert.ThrowsExactly<ArgumentException>(() => UNetOptions.FromJson("null"));
        Assert.ThrowsExactly<ArgumentException>(() => UNetOptions.FromJson("""{"imageSize": 30}"""));
    }
}
