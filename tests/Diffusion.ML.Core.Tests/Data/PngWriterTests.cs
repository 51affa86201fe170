using Diffusion.ML.Data;
using SkiaSharp;

namespace Diffusion.ML.Core.Tests.Data;

[TestClass]
public sealed class PngWriterTests
{
    [TestMethod]
    public void GridRoundTripsThroughPng()
    {
        using var dir = new TempDirectory();
        string path = dir.File("out/grid.png");
        // Three 3x2x2 RGB images; image n is the solid colour (R, G, B) = (n/2 - 1, 1, -1).
        float[] images = new float[3 * 12];
        for (int n = 0; n < 3; n++)
        {
            images.AsSpan((n * 12) + 0, 4).Fill((n / 2f) - 1f);
            images.AsSpan((n * 12) + 4, 4).Fill(1f);
            images.AsSpan((n * 12) + 8, 4).Fill(-1f);
        }

        PngWriter.SaveGrid(path, images, count: 3, channels: 3, height: 2, width: 2, columns: 2);

        using SKBitmap bitmap = SKBitmap.Decode(path);
        // Two columns and two rows of 2x2 tiles with 2 px padding: 2 * (2 + 2) + 2 = 10.
        Assert.AreEqual(10, bitmap.Width);
        Assert.AreEqual(10, bitmap.Height);
        Assert.AreEqual(new SKColor(0, 255, 0), bitmap.GetPixel(2, 2));
        Assert.AreEqual(new SKColor(64, 255, 0), bitmap.GetPixel(7, 3));
        Assert.AreEqual(new SKColor(128, 255, 0), bitmap.GetPixel(3, 7));
        Assert.AreEqual(SKColors.Black, bitmap.GetPixel(0, 0));
        Assert.AreEqual(SKColors.Black, bitmap.GetPixel(7, 7));
        CollectionAssert.AreEqual(new[] { "grid.png" }, Directory.GetFiles(Path.GetDirectoryName(path)!).Select(Path.GetFileName).ToArray());
    }

    [TestMethod]
    public void ScaledGridRepeatsEveryPixel()
    {
        using var dir = new TempDirectory();
        string path = dir.File("scaled.png");
        // One 1x2x2 grey image [[-1, 1], [1, -1]] with no padding, magnified 3 times.
        PngWriter.SaveGrid(path, [-1f, 1f, 1f, -1f], count: 1, channels: 1, height: 2, width: 2, columns: 1, padding: 0, scale: 3);
        using SKBitmap bitmap = SKBitmap.Decode(path);
        Assert.AreEqual(6, bitmap.Width);
        Assert.AreEqual(6, bitmap.Height);
        for (int y = 0; y < 6; y++)
            for (int x = 0; x < 6; x++)
                Assert.AreEqual((x / 3 + y / 3) % 2 == 1 ? (byte)255 : (byte)0, bitmap.GetPixel(x, y).Red, $"pixel ({x}, {y})");
    }

    [TestMethod]
    public void SaveImageWritesGrayscaleAndReplacesAnExistingFile()
    {
        using var dir = new TempDirectory();
        string path = dir.File("digit.png");
        File.WriteAllText(path, "old");

        PngWriter.SaveImage(path, [-1f, 0f, 1f, 2f, float.NaN, -0.5f], channels: 1, height: 2, width: 3);

        var decoded = new ImageFolderDataset(dir.Path, grayscale: true).Single();
        Assert.AreEqual(3, decoded.Width);
        Assert.AreEqual(2, decoded.Height);
        float[] expected = [-1f, TestImages.Scaled(128), 1f, 1f, -1f, TestImages.Scaled(64)];
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.AreEqual(expected[i], decoded.Pixels[i], 1e-6f);
        }
    }

    [TestMethod]
    public void WrongArgumentsAreRejected()
    {
        using var dir = new TempDirectory();
        string path = dir.File("x.png");
        Assert.ThrowsExactly<ArgumentException>(() => PngWriter.SaveImage(path, new float[5], 1, 2, 3));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => PngWriter.SaveImage(path, new float[12], 2, 2, 3));
        Assert.IsFalse(File.Exists(path));
    }
}
