using Diffusion.ML.Data;

namespace Diffusion.ML.Core.Tests.Data;

[TestClass]
public sealed class IdxReaderTests
{
    // Two 2x3 images.
    private static readonly byte[] Pixels = [0, 51, 255, 127, 128, 1, 10, 20, 30, 40, 50, 60];

    [TestMethod]
    [DataRow(false, DisplayName = "raw")]
    [DataRow(true, DisplayName = "gzip")]
    public void LoadDatasetReadsImagesAndLabels(bool gzip)
    {
        using var dir = new TempDirectory();
        string images = dir.File("images-idx3-ubyte"), labels = dir.File("labels-idx1-ubyte");
        IdxFiles.WriteImages(images, 2, 2, 3, Pixels, gzip);
        IdxFiles.WriteLabels(labels, [1, 0], gzip);

        ImageDataset data = IdxReader.LoadDataset(images, labels, ["zero", "one"]);

        Assert.AreEqual(2, data.Count);
        Assert.AreEqual(1, data.Channels);
        Assert.AreEqual(2, data.Height);
        Assert.AreEqual(3, data.Width);
        for (int i = 0; i < Pixels.Length; i++)
        {
            Assert.AreEqual((Pixels[i] / 127.5) - 1, data.Pixels[i], 1e-6);
        }

        Assert.AreEqual(-1f, data.Pixels[0]);
        Assert.AreEqual(1f, data.Pixels[2]);
        CollectionAssert.AreEqual(new[] { 1, 0 }, data.Labels);
        Assert.AreEqual(2, data.ClassCount);
        Assert.AreEqual("one", data.ClassNames![1]);
    }

    [TestMethod]
    public void ReadImagesReturnsRawBytesAndClassCountComesFromLabels()
    {
        using var dir = new TempDirectory();
        string images = dir.File("i"), labels = dir.File("l");
        IdxFiles.WriteImages(images, 2, 2, 3, Pixels, gzip: false);
        IdxFiles.WriteLabels(labels, [4, 2], gzip: true);

        IdxImages raw = IdxReader.ReadImages(images);
        CollectionAssert.AreEqual(Pixels, raw.Pixels);
        Assert.AreEqual(5, IdxReader.LoadDataset(images, labels).ClassCount);
        Assert.IsNull(IdxReader.LoadDataset(images).Labels);
    }

    [TestMethod]
    public void SwappedFilesReportBothMagicNumbers()
    {
        using var dir = new TempDirectory();
        string labels = dir.File("train-labels-idx1-ubyte");
        IdxFiles.WriteLabels(labels, [1, 2], gzip: true);

        var error = Assert.ThrowsExactly<InvalidDataException>(() => IdxReader.ReadImages(labels));

        Assert.Contains(labels, error.Message);
        Assert.Contains("2049", error.Message);
        Assert.Contains("2051", error.Message);
        Assert.Contains("swapped", error.Message);
    }

    [TestMethod]
    public void NonIdxFileIsRejected()
    {
        using var dir = new TempDirectory();
        string path = dir.File("notes.txt");
        File.WriteAllText(path, "hello, this is text");

        var error = Assert.ThrowsExactly<InvalidDataException>(() => IdxReader.ReadLabels(path));

        Assert.Contains("starts with 2049", error.Message);
        Assert.Contains("not an IDX labels file", error.Message);
    }

    [TestMethod]
    [DataRow(false, DisplayName = "raw")]
    [DataRow(true, DisplayName = "gzip")]
    public void TruncatedFileReportsExpectedAndActualLength(bool gzip)
    {
        using var dir = new TempDirectory();
        string images = dir.File("images");
        IdxFiles.WriteImages(images, 2, 2, 3, Pixels[..7], gzip);

        var error = Assert.ThrowsExactly<InvalidDataException>(() => IdxReader.ReadImages(images));

        Assert.Contains("truncated", error.Message);
        Assert.Contains("12 bytes were expected", error.Message);
        Assert.Contains("only 7", error.Message);
    }

    [TestMethod]
    public void TruncatedHeaderIsReported()
    {
        using var dir = new TempDirectory();
        string labels = dir.File("labels");
        IdxFiles.Write(labels, [0x801], [], gzip: false);

        var error = Assert.ThrowsExactly<InvalidDataException>(() => IdxReader.ReadLabels(labels));

        Assert.Contains("header is 8 bytes but the file has only 4", error.Message);
    }

    [TestMethod]
    public void CorruptGzipNamesTheFile()
    {
        using var dir = new TempDirectory();
        string path = dir.File("images.gz");
        File.WriteAllBytes(path, [0x1f, 0x8b, 0x08, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);

        var error = Assert.ThrowsExactly<InvalidDataException>(() => IdxReader.ReadImages(path));

        Assert.Contains($"'{path}' starts like a gzip file but could not be decompressed", error.Message);
    }

    [TestMethod]
    public void CountMismatchNamesBothFiles()
    {
        using var dir = new TempDirectory();
        string images = dir.File("images"), labels = dir.File("labels");
        IdxFiles.WriteImages(images, 2, 2, 3, Pixels, gzip: false);
        IdxFiles.WriteLabels(labels, [1, 2, 3], gzip: false);

        var error = Assert.ThrowsExactly<InvalidDataException>(() => IdxReader.LoadDataset(images, labels));

        Assert.Contains($"'{images}' has 2 images but '{labels}' has 3 labels", error.Message);
    }

    [TestMethod]
    public void LabelWithoutClassNameIsRejected()
    {
        using var dir = new TempDirectory();
        string images = dir.File("images"), labels = dir.File("labels");
        IdxFiles.WriteImages(images, 2, 2, 3, Pixels, gzip: false);
        IdxFiles.WriteLabels(labels, [1, 7], gzip: false);

        var error = Assert.ThrowsExactly<InvalidDataException>(() => IdxReader.LoadDataset(images, labels, ["a", "b"]));

        Assert.Contains("label 7 at index 1", error.Message);
        Assert.Contains("valid labels 0..1", error.Message);
    }
}
