namespace Diffusion.ML.Data;

/// <summary>Maps 8-bit intensities 0..255 to the model range [-1, 1] and back.</summary>
internal static class PixelScale
{
    /// <summary>Maps 0..255 to [-1, 1] as x / 127.5 - 1.</summary>
    public static float FromByte(byte value) => value / 127.5f - 1f;

    /// <summary>Maps [-1, 1] to 0..255, rounding to nearest and clamping; NaN becomes 0.</summary>
    public static byte ToByte(float value)
    {
        if (float.IsNaN(value))
        {
            return 0;
        }

        return (byte)Math.Clamp(MathF.Round((value + 1f) * 127.5f), 0f, 255f);
    }
}
