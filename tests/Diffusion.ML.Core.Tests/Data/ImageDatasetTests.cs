using Diffusion.ML.Data;

namespace Diffusion.ML.Core.Tests.Data;

[TestClass]
public sealed class ImageDatasetTests
{
    // Three 1x1x2 images: image i holds (i/10, -i/10).
    private static ImageDataset Labeled() =>
        new(3, 1, 1, 2, [0f, 0f, 0.1f, -0.1f, 0.2f, -0.2f], [2, 0, 1], 3, ["a", "b", "c"]);

    [TestMethod]
    public void CopyBatchCopiesImagesAndLabelsInIndexOrder()
    {
        ImageDataset data = Labeled();
        float[] pixels = new float[6];
        int[] labels = new int[3];
        data.CopyBatch([2, 0, 2], pixels, labels);
        CollectionAssert.AreEqual(new[] { 0.2f, -0.2f, 0f, 0f, 0.2f, -0.2f }, pixels);
        CollectionAssert.AreEqual(new[] { 1, 2, 1 }, labels);
        Assert.AreEqual(2, data.ImageLength);
        Assert.AreEqual("c", data.ClassNames![2]);
    }

    [TestMethod]
    public void CopyBatchChecksIndicesAndDestination()
    {
        ImageDataset data = Labeled();
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => data.CopyBatch([3], new float[2]));
        Assert.ThrowsExactly<ArgumentException>(() => data.CopyBatch([0, 1], new float[3]));
        var unlabeled = new ImageDataset(1, 1, 1, 1, [0f]);
        Assert.ThrowsExactly<InvalidOperationException>(() => unlabeled.CopyBatch([0], new float[1], new int[1]));
    }

    [TestMethod]
    public void ConstructorRejectsInconsistentArguments()
    {
        var wrongLength = Assert.ThrowsExactly<ArgumentException>(() => new ImageDataset(2, 1, 2, 2, new float[7]));
        Assert.Contains("need 8", wrongLength.Message);
        var wrongLabelCount = Assert.ThrowsExactly<ArgumentException>(() => new ImageDataset(2, 1, 1, 1, new float[2], [0], 1));
        Assert.Contains("1 labels but 2 images", wrongLabelCount.Message);
        var outOfRange = Assert.ThrowsExactly<ArgumentException>(() => new ImageDataset(2, 1, 1, 1, new float[2], [0, 3], 3));
        Assert.Contains("Label 3 of image 1 is outside 0..2", outOfRange.Message);
        var wrongNames = Assert.ThrowsExactly<ArgumentException>(() => new ImageDataset(1, 1, 1, 1, new float[1], [0], 2, ["only"]));
        Assert.Contains("1 class names but classCount is 2", wrongNames.Message);
        Assert.ThrowsExactly<ArgumentException>(() => new ImageDataset(1, 1, 1, 1, new float[1], null, 2));
    }
}
