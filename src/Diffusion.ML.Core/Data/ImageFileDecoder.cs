using SkiaSharp;

namespace Diffusion.ML.Data;

/// <summary>Decodes PNG/JPEG files with SkiaSharp into C x H x W floats in [-1, 1].</summary>
public static class ImageFileDecoder
{
    /// <summary>
    /// Decodes <paramref name="path"/> to 1 channel (luma 0.299 R + 0.587 G + 0.114 B) or 3 channels (R, G, B);
    /// alpha is ignored.
    /// </summary>
    /// <exception cref="InvalidDataException">The file cannot be decoded.</exception>
    public static float[] Decode(string path, int channels, out int width, out int height)
    {
        using FileStream stream = File.OpenRead(path);
        using SKCodec? codec = SKCodec.Create(stream);
        if (codec is null)
        {
            throw NotReadable(path);
        }

        width = codec.Info.Width;
        height = codec.Info.Height;
        var info = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        using SKBitmap? bitmap = SKBitmap.Decode(codec, info);
        if (bitmap is null)
        {
            throw NotReadable(path);
        }

        return FromPixels(bitmap.GetPixelSpan(), width, height, bitmap.RowBytes, blueFirst: false, channels);
    }

    /// <summary>
    /// Converts 8-bit 4-byte pixels (RGBA, or BGRA when <paramref name="blueFirst"/>; alpha ignored) to C x H x W floats in
    /// [-1, 1]: RGB for 3 channels, or luma 0.299 R + 0.587 G + 0.114 B (ITU-R BT.601) for 1.
    /// </summary>
    /// <param name="pixels">The pixel rows, <paramref name="rowBytes"/> apart.</param>
    /// <param name="width">Image width in pixels.</param>
    /// <param name="height">Image height in pixels.</param>
    /// <param name="rowBytes">Bytes from one row to the next (at least 4 * width).</param>
    /// <param name="blueFirst">True for BGRA byte order, false for RGBA.</param>
    /// <param name="channels">1 (luma) or 3 (RGB).</param>
    public static float[] FromPixels(ReadOnlySpan<byte> pixels, int width, int height, int rowBytes, bool blueFirst, int channels)
    {
        if (channels is not (1 or 3)) throw new ArgumentOutOfRangeException(nameof(channels), channels, "Only 1 (grayscale) or 3 (RGB) channels are supported.");
        int red = blueFirst ? 2 : 0, blue = blueFirst ? 0 : 2;
        int planeLength = width * height;
        float[] result = new float[channels * planeLength];
        for (int y = 0; y < height; y++)
        {
            ReadOnlySpan<byte> row = pixels.Slice(y * rowBytes, width * 4);
            for (int x = 0; x < width; x++)
            {
                byte r = row[(4 * x) + red], g = row[(4 * x) + 1], b = row[(4 * x) + blue];
                int offset = (y * width) + x;
                if (channels == 1)
                {
                    result[offset] = PixelScale.FromByte((byte)(((r * 299) + (g * 587) + (b * 114) + 500) / 1000));
                }
                else
                {
                    result[offset] = PixelScale.FromByte(r);
                    result[planeLength + offset] = PixelScale.FromByte(g);
                    result[(2 * planeLength) + offset] = PixelScale.FromByte(b);
                }
            }
        }

        return result;
    }

    private static InvalidDataException NotReadable(string path) =>
        new($"'{path}' is not a readable PNG/JPEG image (SkiaSharp could not decode it); remove or replace the file.");
}
