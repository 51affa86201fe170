using System.Runtime.InteropServices;
using SkiaSharp;

namespace Diffusion.ML.Data;

/// <summary>
/// Saves images given as C x H x W floats in [-1, 1] (C = 1 or 3) as PNG files, mapping values to 0..255 as
/// round((x + 1) * 127.5) clamped. Files are written atomically: to a temporary file in the same directory, then moved.
/// </summary>
public static class PngWriter
{
    /// <summary>Saves one C x H x W image as a PNG (grayscale for C = 1, RGB for C = 3).</summary>
    /// <param name="path">The PNG file to write; its directory is created if missing and an existing file is replaced.</param>
    /// <param name="pixels">Exactly C*H*W values, layout C x H x W.</param>
    /// <param name="channels">1 or 3.</param>
    /// <param name="height">Image height in pixels.</param>
    /// <param name="width">Image width in pixels.</param>
    public static void SaveImage(string path, ReadOnlySpan<float> pixels, int channels, int height, int width) =>
        SaveGrid(path, pixels, count: 1, channels, height, width, columns: 1, padding: 0);

    /// <summary>
    /// Saves <paramref name="count"/> C x H x W images as one PNG grid, filled row by row, like torchvision's make_grid:
    /// min(columns, count) images per row and black padding between images and around the border.
    /// </summary>
    /// <param name="path">The PNG file to write; its directory is created if missing and an existing file is replaced.</param>
    /// <param name="images">Exactly count*C*H*W values, layout N x C x H x W.</param>
    /// <param name="count">Number of images N.</param>
    /// <param name="channels">1 or 3.</param>
    /// <param name="height">Height of one image in pixels.</param>
    /// <param name="width">Width of one image in pixels.</param>
    /// <param name="columns">Images per grid row.</param>
    /// <param name="padding">Black pixels between images and around the border.</param>
    /// <param name="scale">Integer nearest-neighbour magnification of the whole grid (1 = none), so that small images stay visible.</param>
    public static void SaveGrid(
        string path, ReadOnlySpan<float> images, int count, int channels, int height, int width, int columns, int padding = 2, int scale = 1)
    {
        ArgumentNullException.ThrowIfNull(path);
        AtomicFile.WriteAllBytes(path, EncodeGrid(images, count, channels, height, width, columns, padding, scale));
    }

    /// <summary>
    /// The PNG file <see cref="SaveGrid"/> writes, as bytes (to compose it with other drawing before it is saved).
    /// </summary>
    /// <param name="images">Exactly count*C*H*W values, layout N x C x H x W.</param>
    /// <param name="count">Number of images N.</param>
    /// <param name="channels">1 or 3.</param>
    /// <param name="height">Height of one image in pixels.</param>
    /// <param name="width">Width of one image in pixels.</param>
    /// <param name="columns">Images per grid row.</param>
    /// <param name="padding">Black pixels between images and around the border.</param>
    /// <param name="scale">Integer nearest-neighbour magnification of the whole grid (1 = none).</param>
    public static byte[] EncodeGrid(ReadOnlySpan<float> images, int count, int channels, int height, int width, int columns, int padding = 2, int scale = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        if (channels is not (1 or 3))
        {
            throw new ArgumentOutOfRangeException(nameof(channels), channels, "Only 1 (grayscale) or 3 (RGB) channels can be saved as PNG.");
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(columns, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(padding);
        ArgumentOutOfRangeException.ThrowIfLessThan(scale, 1);
        int imageLength = channels * height * width;
        if (images.Length != (long)count * imageLength)
        {
            throw new ArgumentException(
                $"Got {images.Length} values but {count} images of {channels}x{height}x{width} need {(long)count * imageLength}.", nameof(images));
        }

        int gridColumns = Math.Min(columns, count);
        int gridRows = (count + gridColumns - 1) / gridColumns;
        int gridWidth = checked((gridColumns * (width + padding)) + padding);
        int gridHeight = checked((gridRows * (height + padding)) + padding);
        int bytesPerPixel = channels == 1 ? 1 : 4;

        // The grid is filled in a managed buffer and copied into the bitmap row by row: SkiaSharp 2.88 (the version
        // ML.NET's ImageAnalytics binds to, so the project pins it) has no writable pixel span.
        int gridRowBytes = gridWidth * bytesPerPixel;
        var grid = new byte[gridRowBytes * gridHeight];
        if (channels == 3)
        {
            for (int k = 3; k < grid.Length; k += 4) grid[k] = byte.MaxValue; // opaque black padding
        }

        int planeLength = height * width;
        for (int n = 0; n < count; n++)
        {
            ReadOnlySpan<float> image = images.Slice(n * imageLength, imageLength);
            int left = padding + ((n % gridColumns) * (width + padding));
            int top = padding + ((n / gridColumns) * (height + padding));
            for (int y = 0; y < height; y++)
            {
                Span<byte> row = grid.AsSpan(((top + y) * gridRowBytes) + (left * bytesPerPixel), width * bytesPerPixel);
                for (int x = 0; x < width; x++)
                {
                    int offset = (y * width) + x;
                    if (channels == 1)
                    {
                        row[x] = PixelScale.ToByte(image[offset]);
                    }
                    else
                    {
                        row[4 * x] = PixelScale.ToByte(image[offset]);
                        row[(4 * x) + 1] = PixelScale.ToByte(image[planeLength + offset]);
                        row[(4 * x) + 2] = PixelScale.ToByte(image[(2 * planeLength) + offset]);
                    }
                }
            }
        }

        // Integer nearest-neighbour magnification: every grid pixel becomes a scale x scale block.
        var info = new SKImageInfo(gridWidth * scale, gridHeight * scale, channels == 1 ? SKColorType.Gray8 : SKColorType.Rgba8888, SKAlphaType.Opaque);
        using var bitmap = new SKBitmap(info);
        var scaledRow = new byte[info.Width * bytesPerPixel];
        for (int y = 0; y < info.Height; y++)
        {
            ReadOnlySpan<byte> source = grid.AsSpan((y / scale) * gridRowBytes, gridRowBytes);
            for (int x = 0; x < info.Width; x++)
            {
                source.Slice((x / scale) * bytesPerPixel, bytesPerPixel).CopyTo(scaledRow.AsSpan(x * bytesPerPixel));
            }

            Marshal.Copy(scaledRow, 0, bitmap.GetPixels() + (y * bitmap.RowBytes), scaledRow.Length);
        }

        using SKData data = bitmap.Encode(SKEncodedImageFormat.Png, 100)
            ?? throw new InvalidOperationException($"SkiaSharp could not encode the {info.Width}x{info.Height} grid as PNG.");
        return data.ToArray();
    }
}
