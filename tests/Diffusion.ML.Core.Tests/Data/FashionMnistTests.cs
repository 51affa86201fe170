using Diffusion.ML.Data;

namespace Diffusion.ML.Core.Tests.Data;

[TestClass]
public sealed class FashionMnistTests
{
    [TestMethod]
    public void MissingFilesSayWhereToGetThem()
    {
        using var dir = new TempDirectory();

        var error = Assert.ThrowsExactly<FileNotFoundException>(() => FashionMnist.Load(dir.Path, train: false));

        Assert.Contains("dataset-fashion-mnist", error.Message);
        Assert.Contains("github.com/zalandoresearch/fashion-mnist", error.Message);
        Assert.Contains(dir.Path, error.Message);
        Assert.Contains("t10k-images-idx3-ubyte.gz", error.Message);
    }

    [TestMethod]
    public void LoadsFilesFromTheGivenDirectory()
    {
        using var dir = new TempDirectory();
        IdxFiles.WriteImages(dir.File("train-images-idx3-ubyte.gz"), 1, 1, 2, [0, 255], gzip: true);
        IdxFiles.WriteLabels(dir.File("train-labels-idx1-ubyte.gz"), [9], gzip: true);

        ImageDataset data = FashionMnist.Load(dir.Path);

        Assert.AreEqual(1, data.Count);
        Assert.AreEqual(10, data.ClassCount);
        Assert.AreEqual("Ankle boot", data.ClassNames![data.Labels![0]]);
    }

    [TestMethod]
    public void LoadsTheInstalledTestSplit()
    {
        if (!File.Exists(Path.Combine(FashionMnist.DefaultDirectory, "train-images-idx3-ubyte.gz")))
        {
            Assert.Inconclusive($"Fashion-MNIST is not installed in {FashionMnist.DefaultDirectory} (apt-get install dataset-fashion-mnist).");
        }

        ImageDataset data = FashionMnist.Load(train: false);

        Assert.AreEqual(10000, data.Count);
        Assert.AreEqual(28, data.Height);
        Assert.AreEqual(28, data.Width);
        Assert.AreEqual(10, data.ClassCount);
        int[] perClass = new int[10];
        foreach (int label in data.Labels!)
        {
            perClass[label]++;
        }

        // The test split is balanced: 1000 images per class.
        CollectionAssert.AreEqual(Enumerable.Repeat(1000, 10).ToArray(), perClass);
        Assert.AreEqual(-1f, data.Pixels.Min());
        Assert.AreEqual(1f, data.Pixels.Max());
    }
}
