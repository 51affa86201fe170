using SkiaSharp;

namespace Diffusion.ML.Cli.Tests;

/// <summary>The demo's grid: the images where the plain grid puts them, and each row's label drawn left of it.</summary>
[TestClass]
public sealed class LabelledGridTests
{
    [TestMethod]
    public void DrawsTheImagesAndALabelBesideEachRow()
    {
        const int rows = 3, columns = 2, height = 8, width = 5, scale = 4;
        var images = new float[rows * columns * height * width];
        for (int i = 0; i < images.Length; i++) images[i] = (i * 37 % 101) / 50f - 1; // values across [-1, 1]
        string[] labels = ["Ankle boot", "T", "T-shirt/top"];
        string path = Path.Combine(Path.GetTempPath(), $"dml-labelled-{Guid.NewGuid():N}.png");
        try
        {
            int labelWidth = LabelledGrid.Save(path, images, labels, columns, channels: 1, height, width, scale);
            using var png = SKBitmap.Decode(path);
            int pitch = height + LabelledGrid.Padding;
            Assert.AreEqual(labelWidth + (columns * (width + LabelledGrid.Padding) + LabelledGrid.Padding) * scale, png.Width);
            Assert.AreEqual((rows * pitch + LabelledGrid.Padding) * scale, png.Height);

            // Every image pixel is round((v + 1) * 127.5), magnified into a scale x scale block at its grid place.
            for (int n = 0; n < rows * columns; n++)
            for (int y = 0; y < height * scale; y++)
            for (int x = 0; x < width * scale; x++)
            {
                float v = images[n * height * width + (y / scale) * width + x / scale];
                byte expected = (byte)Math.Clamp(MathF.Round((v + 1f) * 127.5f), 0f, 255f); // the documented mapping, in float as PngWriter computes it
                var pixel = png.GetPixel(labelWidth + (LabelledGrid.Padding + (n % columns) * (width + LabelledGrid.Padding)) * scale + x,
                    (LabelledGrid.Padding + (n / columns) * pitch) * scale + y);
                Assert.AreEqual(expected, pixel.Red, $"image {n} at ({x}, {y}): value {v}");
                Assert.AreEqual(pixel.Red, pixel.Blue);
            }

            // Text lies in each row's band of the label column, wider for the longer labels, and nowhere below the last row.
            int Lit(int top, int bottom, out int left)
            {
                int count = 0;
                left = labelWidth;
                for (int y = top; y < bottom; y++)
                for (int x = 0; x < labelWidth; x++)
                    if (png.GetPixel(x, y).Red > 128)
                    {
                        count++;
                        left = Math.Min(left, x);
                    }
                return count;
            }
            int[] lit = new int[rows], left = new int[rows];
            for (int r = 0; r < rows; r++) lit[r] = Lit(r * pitch * scale, ((r + 1) * pitch) * scale, out left[r]);
            Assert.IsTrue(lit.All(c => c > 0), $"lit pixels per row: {string.Join(", ", lit)}");
            Assert.IsTrue(lit[1] < lit[0] && lit[1] < lit[2], $"'T' has fewer lit pixels than the longer labels: {string.Join(", ", lit)}");
            Assert.IsTrue(left[1] > left[0] && left[1] > left[2], "labels are right-aligned: the short one starts further right");
            Assert.AreEqual(0, Lit(rows * pitch * scale, png.Height, out _), "nothing is drawn below the rows");
        }
        finally { File.Delete(path); }
    }
}
