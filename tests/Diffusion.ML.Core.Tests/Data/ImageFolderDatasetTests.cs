using Diffusion.ML.Data;
using SkiaSharp;

namespace Diffusion.ML.Core.Tests.Data;

[TestClass]
public sealed class ImageFolderDatasetTests
{
    private static readonly SKColor Red = new(255, 0, 51);
    private static readonly SKColor Green = new(0, 204, 0);
    private static readonly SKColor Blue = new(10, 20, 255);

    [TestMethod]
    public void SubfoldersAreClassesAndImagesDecodeToRgb()
    {
        using var dir = new TempDirectory();
        TestImages.Write(dir.File("dogs/c.png"), 3, 2, Blue);
        TestImages.Write(dir.File("cats/b.PNG"), 3, 2, Green);
        TestImages.Write(dir.File("cats/a.png"), 3, 2, Red);
        File.WriteAllText(dir.File("cats/readme.txt"), "not an image");

        var folder = new ImageFolderDataset(dir.Path);
        LabeledImage[] images = [.. folder];

        CollectionAssert.AreEqual(new[] { "cats", "dogs" }, folder.ClassNames.ToArray());
        Assert.AreEqual(3, folder.Count);
        CollectionAssert.AreEqual(new int?[] { 0, 0, 1 }, images.Select(image => image.Label).ToArray());
        CollectionAssert.AreEqual(new[] { "a.png", "b.PNG", "c.png" }, images.Select(image => Path.GetFileName(image.Path)).ToArray());
        LabeledImage red = images[0];
        Assert.AreEqual(3, red.Channels);
        Assert.AreEqual(2, red.Height);
        Assert.AreEqual(3, red.Width);
        Assert.AreEqual(18, red.Pixels.Length);
        Assert.AreEqual(1f, red.Pixels[0]);
        Assert.AreEqual(-1f, red.Pixels[6]);
        Assert.AreEqual(TestImages.Scaled(51), red.Pixels[17], 1e-6f);
    }

    [TestMethod]
    public void ImagesAreDecodedOnlyWhenEnumerationReachesThem()
    {
        using var dir = new TempDirectory();
        TestImages.Write(dir.File("a.png"), 2, 2, Red);
        File.WriteAllBytes(dir.File("b.png"), [1, 2, 3]);

        var folder = new ImageFolderDataset(dir.Path, grayscale: true);

        LabeledImage first = folder.First();
        Assert.IsNull(first.Label);
        Assert.IsFalse(folder.IsLabeled);
        // Luma of (255, 0, 51) = round(0.299 * 255 + 0.114 * 51) = 82.
        Assert.AreEqual(TestImages.Scaled(82), first.Pixels[0], 1e-6f);
    }

    [TestMethod]
    public void ToDatasetMaterialisesGrayscaleImages()
    {
        using var dir = new TempDirectory();
        TestImages.Write(dir.File("x/1.png"), 2, 2, new SKColor(128, 128, 128));
        TestImages.Write(dir.File("y/2.jpg"), 2, 2, new SKColor(255, 255, 255), SKEncodedImageFormat.Jpeg);

        ImageDataset data = new ImageFolderDataset(dir.Path, grayscale: true, width: 2, height: 2).ToDataset();

        Assert.AreEqual(2, data.Count);
        Assert.AreEqual(1, data.Channels);
        CollectionAssert.AreEqual(new[] { 0, 1 }, data.Labels);
        CollectionAssert.AreEqual(new[] { "x", "y" }, data.ClassNames!.ToArray());
        Assert.AreEqual(TestImages.Scaled(128), data.Pixels[0], 1e-6f);
        Assert.AreEqual(1f, data.Pixels[7], 0.02f);
    }

    [TestMethod]
    public void MixedSizesNameBothFiles()
    {
        using var dir = new TempDirectory();
        string first = dir.File("a.png"), second = dir.File("b.png");
        TestImages.Write(first, 4, 4, Red);
        TestImages.Write(second, 5, 3, Red);

        var error = Assert.ThrowsExactly<InvalidDataException>(() => new ImageFolderDataset(dir.Path).ToDataset());

        Assert.Contains($"'{second}' is 5x3 pixels but '{first}' is 4x4", error.Message);
    }

    [TestMethod]
    public void SearchPatternSkipsOtherFiles()
    {
        using var dir = new TempDirectory();
        TestImages.Write(dir.File("grid.png"), 30, 30, Red); // a sample grid beside the single samples
        TestImages.Write(dir.File("sample_000001.png"), 4, 4, Green);
        TestImages.Write(dir.File("sample_000000.png"), 4, 4, Blue);

        var folder = new ImageFolderDataset(dir.Path, searchPattern: "sample_*.png");

        CollectionAssert.AreEqual(new[] { dir.File("sample_000000.png"), dir.File("sample_000001.png") }, folder.Files.ToArray());
        Assert.AreEqual(2, folder.ToDataset().Count);
        var error = Assert.ThrowsExactly<InvalidDataException>(() => new ImageFolderDataset(dir.Path, searchPattern: "x_*.png"));
        Assert.Contains("matching 'x_*.png'", error.Message);
    }

    [TestMethod]
    public void RequestedSizeIsEnforced()
    {
        using var dir = new TempDirectory();
        string path = dir.File("a.png");
        TestImages.Write(path, 4, 4, Red);

        var error = Assert.ThrowsExactly<InvalidDataException>(() => new ImageFolderDataset(dir.Path, width: 8, height: 8).ToDataset());

        Assert.Contains($"'{path}' is 4x4 pixels but the requested size is 8x8", error.Message);
    }

    [TestMethod]
    public void CorruptFileIsNamed()
    {
        using var dir = new TempDirectory();
        string path = dir.File("broken.png");
        File.WriteAllBytes(path, [.. Enumerable.Range(0, 256).Select(i => (byte)(i * 37 % 251))]);

        var error = Assert.ThrowsExactly<InvalidDataException>(() => new ImageFolderDataset(dir.Path).ToDataset());

        Assert.Contains($"'{path}' is not a readable PNG/JPEG", error.Message);
    }

    [TestMethod]
    public void EmptyOrMissingFolderIsRejected()
    {
        using var dir = new TempDirectory();
        Directory.CreateDirectory(Path.Combine(dir.Path, "empty-class"));

        Assert.ThrowsExactly<InvalidDataException>(() => new ImageFolderDataset(dir.Path));
        Assert.ThrowsExactly<DirectoryNotFoundException>(() => new ImageFolderDataset(Path.Combine(dir.Path, "nope")));
    }
}
