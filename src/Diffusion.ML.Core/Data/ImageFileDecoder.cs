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

        ReadOnlySpan<byte> rgba = bitmap.GetPixelSpan();
        int rowBytes = bitmap.RowBytes;
        int planeLength = width * height;
        float[] pixels = new float[channels * planeLength];
        for (int y = 0; y < height; y++)
        {
            ReadOnlySpan<byte> row = rgba.Slice(y * rowBytes, width * 4);
            for (int x = 0; x < width; x++)
            {
                byte r = row[4 * x], g = row[(4 * x) + 1], b = row[(4 * x) + 2];
                int offset = (y * width) + x;
                if (channels == 1)
                {
                    pixels[offset] = PixelScale.FromByte((byte)(((r * 299) + (g * 587) + (b * 114) + 500) / 1000));
                }
                else
                {
                    pixels[offset] = PixelScale.FromByte(r);
                    pixels[planeLength + offset] = PixelScale.FromByte(g);
                    pixels[(2 * planeLength) + offset] = PixelScale.FromByte(b);
                }
            }
        }

        return pixels;
    }

    private static InvalidDataException NotReadable(string path) =>
        new($"'{path}' is not a readable PNG/JPEG image (SkiaSharp could not decode it); remove or replace the file.");
}
