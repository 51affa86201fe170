using Diffusion.ML.Data;
using SkiaSharp;

namespace Diffusion.ML.Cli;

/// <summary>
/// A PNG grid of images with one row per label and the label written to the left of its row. The text is drawn with the
/// DejaVu Sans (ASCII) typeface embedded in the tool (Fonts/README.md), so it needs no font on the machine.
/// </summary>
internal static class LabelledGrid
{
    /// <summary>Black pixels between images and around the grid, as in <see cref="PngWriter.SaveGrid"/>.</summary>
    public const int Padding = 2;

    private const string FontResource = "DejaVuSans-ASCII.ttf";

    private static readonly Lazy<SKTypeface> Typeface = new(LoadTypeface);

    /// <summary>
    /// Writes <paramref name="rowLabels"/>.Count rows of <paramref name="columns"/> C x H x W images (values in [-1, 1], row
    /// after row) as <see cref="PngWriter.SaveGrid"/> lays them out, magnified <paramref name="scale"/> times, with each
    /// row's label to its left (printable ASCII; other characters are drawn as the font's missing-glyph box). Atomic.
    /// </summary>
    /// <returns>The width in pixels of the label column left of the grid.</returns>
    public static int Save(string path, ReadOnlySpan<float> images, IReadOnlyList<string> rowLabels, int columns, int channels, int height, int width, int scale)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(rowLabels.Count, 1);
        using var grid = SKBitmap.Decode(PngWriter.EncodeGrid(images, rowLabels.Count * columns, channels, height, width, columns, Padding, scale));
        int rowPitch = (height + Padding) * scale;
        using var paint = new SKPaint { Typeface = Typeface.Value, TextSize = 0.4f * rowPitch, IsAntialias = true, Color = SKColors.White };
        float margin = 0.5f * paint.TextSize;
        int labelWidth = (int)Math.Ceiling(rowLabels.Max(label => paint.MeasureText(label)) + 2 * margin);

        using var bitmap = new SKBitmap(new SKImageInfo(labelWidth + grid.Width, grid.Height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        using (var canvas = new SKCanvas(bitmap))
        {
            canvas.Clear(SKColors.Black);
            canvas.DrawBitmap(grid, labelWidth, 0);
            var metrics = paint.FontMetrics;
            for (int row = 0; row < rowLabels.Count; row++)
            {
                // Right-aligned beside the row, the text's ascent-descent box centred on the row's images.
                float centre = (Padding + row * (height + Padding) + height / 2f) * scale;
                float baseline = centre - (metrics.Ascent + metrics.Descent) / 2;
                canvas.DrawText(rowLabels[row], labelWidth - margin - paint.MeasureText(rowLabels[row]), baseline, paint);
            }
        }
        using SKData data = bitmap.Encode(SKEncodedImageFormat.Png, 100)
            ?? throw new InvalidOperationException($"SkiaSharp could not encode the {bitmap.Width}x{bitmap.Height} labelled grid as PNG.");
        AtomicFile.WriteAllBytes(path, data.AsSpan());
        return labelWidth;
    }

    private static SKTypeface LoadTypeface()
    {
        using var stream = typeof(LabelledGrid).Assembly.GetManifestResourceStream(FontResource)
            ?? throw new InvalidOperationException($"The tool was built without its embedded font '{FontResource}'.");
        using var memory = new MemoryStream();
        stream.CopyTo(memory);
        using var data = SKData.CreateCopy(memory.ToArray());
        return SKTypeface.FromData(data) ?? throw new InvalidOperationException($"SkiaSharp could not read the embedded font '{FontResource}'.");
    }
}
