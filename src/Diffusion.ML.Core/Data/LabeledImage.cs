namespace Diffusion.ML.Data;

/// <summary>One decoded image of an <see cref="ImageFolderDataset"/>.</summary>
/// <param name="Path">The image file.</param>
/// <param name="Label">Index of the class subfolder, or null when the folder is unlabeled.</param>
/// <param name="Channels">Channels C: 1 for grayscale, 3 for RGB.</param>
/// <param name="Height">Height H in pixels.</param>
/// <param name="Width">Width W in pixels.</param>
/// <param name="Pixels">C*H*W values in [-1, 1], layout C x H x W.</param>
public sealed record LabeledImage(string Path, int? Label, int Channels, int Height, int Width, float[] Pixels);
