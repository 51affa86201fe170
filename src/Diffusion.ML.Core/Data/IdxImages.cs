namespace Diffusion.ML.Data;

/// <summary>Raw 8-bit images read from an IDX images file, layout N x H x W.</summary>
/// <param name="Count">Number of images N.</param>
/// <param name="Height">Image height H (rows).</param>
/// <param name="Width">Image width W (columns).</param>
/// <param name="Pixels">Intensities 0..255, N*H*W bytes, row-major per image.</param>
public sealed record IdxImages(int Count, int Height, int Width, byte[] Pixels);
