namespace Diffusion.ML.MLNet;

/// <summary>Options of <c>mlContext.Diffusion().SaveImages(data, folder, column, options)</c>.</summary>
public sealed class ImageSaveOptions
{
    /// <summary>
    /// Range of the values of a float-vector image column: Min is written as black (0), Max as white (255); values are
    /// rounded and clamped. Default [0, 255] (what the decoders and samplers write for a model trained on ExtractPixels'
    /// bytes). Ignored for <c>MLImage</c> columns.
    /// </summary>
    public PixelRange PixelRange { get; set; } = PixelRange.Bytes;

    /// <summary>
    /// Shape [channels, height, width] of a float-vector image column (channels 1 or 3, CHW order as ExtractPixels
    /// writes); null takes the vector's own dimensions, else a square single-channel image.
    /// </summary>
    public int[]? ImageShape { get; set; }

    /// <summary>
    /// An integer column numbering the files (e.g. "Index", written by SampleRequests and Generate, so a file's name
    /// says which sample it is); null numbers them by row position from 0.
    /// </summary>
    public string? IndexColumnName { get; set; }

    /// <summary>File name prefix; the file of row i is <c>{FileNamePrefix}{i:D6}.png</c>. Default "image_".</summary>
    public string FileNamePrefix { get; set; } = "image_";
}
