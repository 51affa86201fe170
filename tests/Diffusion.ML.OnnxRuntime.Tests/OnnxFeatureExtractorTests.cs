using Diffusion.ML.Evaluation;

namespace Diffusion.ML.OnnxRuntime.Tests;

[TestClass]
public sealed class OnnxFeatureExtractorTests
{
    private string _dir = "";

    [TestInitialize]
    public void CreateFolder() => _dir = Directory.CreateTempSubdirectory("dml-onnx-features").FullName;

    [TestCleanup]
    public void DeleteFolder() => Directory.Delete(_dir, recursive: true);

    /// <summary>features = Flatten(images), logits = Flatten(images): the network's input comes back unchanged.</summary>
    private string FlattenModel(int c, int h, int w)
    {
        string path = Path.Combine(_dir, $"flatten-{c}x{h}x{w}.onnx");
        int d = c * h * w;
        File.WriteAllBytes(path, TinyOnnx.Model(
            [("Flatten", ["images"], ["features"]), ("Flatten", ["images"], ["logits"])],
            [("images", [c, h, w])],
            [("features", [d]), ("logits", [d])]));
        return path;
    }

    [TestMethod]
    public void GreyImagesAreRepeatedResizedAndRescaledLikeTorchInterpolate()
    {
        // One 2x2 grey image [[a, b], [c, d]] to 3x4x4 in [0, 1]. Along one axis, half-pixel centres map 2 -> 4 as
        // [p, q] -> [p, 0.75p + 0.25q, 0.25p + 0.75q, q] (torch.nn.functional.interpolate, bilinear, align_corners=False).
        float[] image = [-1f, 0.5f, 0.25f, 1f];
        using var extractor = new OnnxFeatureExtractor(FlattenModel(3, 4, 4), new OnnxFeatureExtractorOptions
        {
            ImageShape = [1, 2, 2], LogitsOutputName = "logits", ClassCount = 48, InputMinimum = 0, InputMaximum = 1,
        });
        Assert.AreEqual(48, extractor.FeatureDimension);
        CollectionAssert.AreEqual(new[] { 1, 2, 2 }, extractor.InputShape.ToArray());
        double[] weights = [1, 0.75, 0.25, 0];
        var features = new float[48];
        var logits = new float[48];
        extractor.Extract(image, features, logits);
        for (int ch = 0; ch < 3; ch++)
        for (int y = 0; y < 4; y++)
        for (int x = 0; x < 4; x++)
        {
            double top = weights[x] * image[0] + (1 - weights[x]) * image[1];
            double bottom = weights[x] * image[2] + (1 - weights[x]) * image[3];
            double value = weights[y] * top + (1 - weights[y]) * bottom;
            Assert.AreEqual((value + 1) / 2, features[ch * 16 + y * 4 + x], 1e-6, $"channel {ch}, pixel ({y}, {x})");
        }
        CollectionAssert.AreEqual(features, logits);
    }

    [TestMethod]
    public void WorksWithTheMetricsAndTakesTheOutputsByName()
    {
        using var extractor = new OnnxFeatureExtractor(FlattenModel(1, 2, 3), new OnnxFeatureExtractorOptions { LogitsOutputName = "logits", ClassCount = 6, Name = "flat" });
        var random = new Random(2);
        float[] images = Enumerable.Range(0, 40 * 6).Select(_ => (float)(2 * random.NextDouble() - 1)).ToArray();
        var extracted = ExtractedFeatures.Compute(extractor, images, batchSize: 7);
        CollectionAssert.AreEqual(images, extracted.Features.SelectMany(f => f).ToArray());
        CollectionAssert.AreEqual(images, extracted.Logits);
        Assert.AreEqual("flat", extracted.Network);
        var result = SampleQuality.Evaluate(extracted, extracted, options: new SampleQualityOptions { KidSubsets = 2, KidSubsetSize = 20, InceptionScoreSplits = 2 });
        Assert.AreEqual(0, result.Fid, 1e-9);
    }

    [TestMethod]
    public void MismatchesSayWhatIsWrong()
    {
        string path = FlattenModel(3, 4, 4);
        var ex = Assert.ThrowsExactly<InvalidDataException>(() => new OnnxFeatureExtractor(path));
        StringAssert.Contains(ex.Message, "FeatureOutputName");
        ex = Assert.ThrowsExactly<InvalidDataException>(() => new OnnxFeatureExtractor(path, new() { LogitsOutputName = "probs", ClassCount = 48 }));
        StringAssert.Contains(ex.Message, "no output 'probs'");
        Assert.ThrowsExactly<ArgumentException>(() => new OnnxFeatureExtractor(path, new() { LogitsOutputName = "logits" }));
        Assert.ThrowsExactly<ArgumentException>(() => new OnnxFeatureExtractor(path, new() { FeatureOutputName = "features", ImageShape = [2, 4, 4] }));
        string symbolic = Path.Combine(_dir, "symbolic.onnx");
        File.WriteAllBytes(symbolic, TinyOnnx.Model([("Flatten", ["images"], ["features"])], [("images", [3, -1, -1])], [("features", [-1])]));
        ex = Assert.ThrowsExactly<InvalidDataException>(() => new OnnxFeatureExtractor(symbolic));
        StringAssert.Contains(ex.Message, "must be fixed");

        using var extractor = new OnnxFeatureExtractor(path, new() { FeatureOutputName = "features" });
        Assert.AreEqual(0, extractor.ClassCount);
        Assert.ThrowsExactly<ArgumentException>(() => extractor.Extract(new float[47], new float[48], []));
        Assert.ThrowsExactly<ArgumentException>(() => extractor.Extract(new float[48], new float[47], []));
    }
}
