using Diffusion.ML.TorchSharp.Autoencoders;

namespace Diffusion.ML.MLNet;

/// <summary>
/// What the autoencoder estimators (<see cref="VaeEstimator"/>, <see cref="VqVaeEstimator"/>) share: the range of the
/// input pixels, the convolutional encoder/decoder and the EMA of the exported weights.
/// </summary>
public abstract class LatentAutoencoderOptions : DiffusionTrainingOptions
{
    private protected LatentAutoencoderOptions()
    {
    }

    /// <summary>Range of the input pixels, mapped to [-1, 1]. Default [0, 255] (ExtractPixels).</summary>
    public PixelRange PixelRange { get; set; } = PixelRange.Bytes;

    /// <summary>Channels per resolution level; each level after the first halves the resolution. Default [32, 64, 64] (28x28 to 7x7).</summary>
    public int[] LevelChannels { get; set; } = [32, 64, 64];

    /// <summary>Residual blocks per level.</summary>
    public int BlocksPerLevel { get; set; } = 1;

    /// <summary>GroupNorm groups (must divide every level's channels).</summary>
    public int GroupNormGroups { get; set; } = 8;

    /// <summary>EMA decay of the weights used for export; null exports the trained weights. Default 0.999.</summary>
    public double? EmaDecay { get; set; } = 0.999;

    /// <summary>The backbone for images of <paramref name="shape"/> [C, H, W].</summary>
    internal ConvBackboneOptions Backbone(int[] shape) => new()
    {
        ImageChannels = shape[0], ImageHeight = shape[1], ImageWidth = shape[2],
        LevelChannels = LevelChannels, BlocksPerLevel = BlocksPerLevel, GroupNormGroups = GroupNormGroups,
    };

    /// <summary>Latent positions h x w when <see cref="DiffusionTrainingOptions.ImageShape"/> is set, else -1 (known after Fit).</summary>
    internal int LatentPositions()
    {
        if (ImageShape is not [_, int h, int w] || LevelChannels is not { Length: > 0 }) return -1;
        int factor = 1 << (LevelChannels.Length - 1);
        return h / factor * (w / factor);
    }
}
