using Diffusion.ML.TorchSharp.Modules;

namespace Diffusion.ML.TorchSharp.Tests.Modules;

[TestClass]
public sealed class DitOptionsTests
{
    [TestMethod]
    [DataRow("S", 384, 12, 6)]
    [DataRow("b", 768, 12, 12)]
    [DataRow("L", 1024, 24, 16)]
    [DataRow("XL", 1152, 28, 16)]
    public void Presets_AreThePapersTable1(string size, int hidden, int depth, int heads)
    {
        var o = DitOptions.Preset(size, patchSize: 4);
        Assert.AreEqual(hidden, o.HiddenSize);
        Assert.AreEqual(depth, o.Depth);
        Assert.AreEqual(heads, o.Heads);
        Assert.AreEqual(4, o.PatchSize);
        Assert.AreEqual(4.0, o.MlpRatio);
        Assert.AreEqual(64, o.TokenCount, "32x32 latents in 4x4 patches");
    }

    [TestMethod]
    public void Defaults_AreDitS2For28x28Grey_AndSurviveAJsonRoundTrip()
    {
        var o = new DitOptions();
        o.Validate();
        Assert.AreEqual(DitOptions.Preset("S", 2, imageChannels: 1, imageHeight: 28, imageWidth: 28), o);
        Assert.AreEqual(196, o.TokenCount);
        Assert.AreEqual(1536, o.MlpHiddenSize);

        var custom = o with { ImageWidth = 32, ClassCount = 10, LearnSigma = true, Depth = 3, MlpRatio = 2.5 };
        Assert.AreEqual(custom, DitOptions.FromJson(custom.ToJson()));
        Assert.AreEqual(2, custom.OutputChannels);
        Assert.AreEqual(new DitOptions { Depth = 2 }, DitOptions.FromJson("{\"depth\":2}"), "missing properties take their defaults");
    }

    [TestMethod]
    public void ImageSizeNotDivisibleByThePatchSize_ThrowsWithTheFix()
    {
        var ex = Assert.ThrowsExactly<ArgumentException>(() => new DitOptions { ImageHeight = 30, ImageWidth = 30, PatchSize = 4 }.Validate());
        Assert.AreEqual(nameof(DitOptions.PatchSize), ex.ParamName);
        StringAssert.Contains(ex.Message, "30x30 is not divisible by PatchSize 4");
        StringAssert.Contains(ex.Message, "e.g. 1, 2, 3, 5, 6, 10");
        Assert.ThrowsExactly<ArgumentException>(() => DitOptions.Preset("B", patchSize: 8, imageHeight: 28, imageWidth: 28));
    }

    [TestMethod]
    public void HiddenSizeNotDivisibleByTheHeads_Throws()
    {
        var ex = Assert.ThrowsExactly<ArgumentException>(() => new DitOptions { HiddenSize = 100, Heads = 8 }.Validate());
        Assert.AreEqual(nameof(DitOptions.Heads), ex.ParamName);
        StringAssert.Contains(ex.Message, "divisible by Heads (8)");
        StringAssert.Contains(ex.Message, "25 or 20 or 10");
    }

    [TestMethod]
    public void OtherInvalidValues_Throw()
    {
        DitOptions[] invalid =
        [
            new() { ImageChannels = 0 },
            new() { ImageHeight = 0 },
            new() { PatchSize = 0 },
            new() { HiddenSize = 30, Heads = 3 },
            new() { Depth = 0 },
            new() { Heads = 0 },
            new() { MlpRatio = 0 },
            new() { MlpRatio = double.NaN },
            new() { FrequencyEmbeddingSize = 255 },
            new() { ClassCount = -1 },
        ];
        foreach (var options in invalid)
        {
            Assert.ThrowsExactly<ArgumentException>(options.Validate, options.ToString());
        }
        var ex = Assert.ThrowsExactly<ArgumentException>(() => DitOptions.Preset("M", 2));
        StringAssert.Contains(ex.Message, "S, B, L, XL");
        Assert.ThrowsExactly<ArgumentException>(() => DitOptions.FromJson("{\"patchSize\":3}"));
        Assert.ThrowsExactly<ArgumentException>(() => DitOptions.FromJson("not json"));
    }
}
