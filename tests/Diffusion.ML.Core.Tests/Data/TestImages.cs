using SkiaSharp;

namespace Diffusion.ML.Core.Tests.Data;

/// <summary>Writes small solid-colour images with SkiaSharp for the image folder tests.</summary>
internal static class TestImages
{
    public static void Write(string path, int width, int height, SKColor color, SKEncodedImageFormat format = SKEncodedImageFormat.Png)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        bitmap.Erase(color);
        using SKData data = bitmap.Encode(format, 100);
        File.WriteAllBytes(path, data.ToArray());
    }

    public static float Scaled(byte value) => (value / 127.5f) - 1f;
}
