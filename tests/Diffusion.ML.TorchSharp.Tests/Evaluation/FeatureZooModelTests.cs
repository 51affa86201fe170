using System.Text.Json;
using Diffusion.ML.Data;
using Diffusion.ML.TorchSharp.Evaluation;

namespace Diffusion.ML.TorchSharp.Tests.Evaluation;

/// <summary>The feature network shipped in zoo/fashion-mnist-features loads, verifies and classifies.</summary>
[TestClass]
public sealed class FeatureZooModelTests
{
    private static string RepositoryFile(string relative)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Diffusion.ML.sln"))) return Path.Combine(dir.FullName, relative);
        throw new AssertInconclusiveException("Not running inside the repository.");
    }

    [TestMethod]
    public void FashionMnistFeatureConfigDescribesTheFile()
    {
        using var extractor = TorchSharpFeatureExtractor.Load(RepositoryFile("zoo/fashion-mnist-features/model.zip"));
        var manifest = extractor.Manifest!;
        using var config = JsonDocument.Parse(File.ReadAllText(RepositoryFile("zoo/fashion-mnist-features/config.json")));
        var root = config.RootElement;
        Assert.AreEqual(manifest.ModelKind, root.GetProperty("kind").GetString());
        using var modelConfig = JsonDocument.Parse(manifest.ModelConfig);
        Assert.IsTrue(JsonElement.DeepEquals(modelConfig.RootElement, root.GetProperty("config")), "config.json's config is the file's network config");
        CollectionAssert.AreEqual(manifest.ClassNames!.ToArray(), root.GetProperty("classNames").EnumerateArray().Select(e => e.GetString()).ToArray());
        CollectionAssert.AreEqual(manifest.InputShape, root.GetProperty("inputShape").EnumerateArray().Select(e => e.GetInt32()).ToArray());
        Assert.AreEqual(extractor.Network.parameters().Sum(p => p.numel()), root.GetProperty("parameters").GetInt64());
    }

    [TestMethod]
    public void FashionMnistFeatureNetworkClassifiesTestImages()
    {
        using var extractor = TorchSharpFeatureExtractor.Load(RepositoryFile("zoo/fashion-mnist-features/model.zip"));
        Assert.AreEqual("fashion-mnist-features", extractor.Name);
        Assert.AreEqual(128, extractor.FeatureDimension);
        Assert.AreEqual(10, extractor.ClassCount);
        CollectionAssert.AreEqual(new[] { 1, 28, 28 }, extractor.InputShape.ToArray());
        var manifest = extractor.Manifest!;
        Assert.AreEqual("Sneaker", manifest.ClassNames![7]);
        Assert.IsTrue(manifest.TestAccuracy >= 0.92, $"recorded test accuracy {manifest.TestAccuracy}");
        Assert.AreEqual(10_000, manifest.TestCount);

        if (!File.Exists(Path.Combine(FashionMnist.DefaultDirectory, "t10k-images-idx3-ubyte.gz")))
            Assert.Inconclusive($"Fashion-MNIST is not installed at {FashionMnist.DefaultDirectory} (apt-get install dataset-fashion-mnist).");
        var test = FashionMnist.Load(train: false);
        const int n = 500;
        var features = new float[n * 128];
        var logits = new float[n * 10];
        extractor.Extract(test.Pixels.AsSpan(0, n * test.ImageLength), features, logits);
        int correct = 0;
        for (int i = 0; i < n; i++)
        {
            int best = 0;
            for (int c = 1; c < 10; c++) if (logits[i * 10 + c] > logits[i * 10 + best]) best = c;
            if (best == test.Labels![i]) correct++;
        }
        Assert.IsTrue(correct >= 0.9 * n, $"{correct}/{n} correct");
        Assert.IsTrue(features.All(float.IsFinite) && features.All(v => v >= 0), "features are finite ReLU outputs");
        Assert.IsTrue(features.Count(v => v > 0) > n * 128 / 10, "the features are not mostly dead");
    }
}
