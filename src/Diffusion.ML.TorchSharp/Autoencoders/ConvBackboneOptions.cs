using System.Text.Json.Serialization;

namespace Diffusion.ML.TorchSharp.Autoencoders;

/// <summary>
/// Shape of the convolutional encoder/decoder pair shared by <see cref="VariationalAutoencoder"/> and <see cref="VqVae"/>:
/// one level per entry of <see cref="LevelChannels"/>, each with <see cref="BlocksPerLevel"/> residual blocks, and a
/// stride-2 downsampling (encoder) or nearest-neighbour upsampling (decoder) between levels, as in the first stage of
/// latent diffusion (Rombach et al. 2022, App. G).
/// </summary>
public sealed record ConvBackboneOptions
{
    /// <summary>Image channels C (1 for grayscale). Default 1.</summary>
    public int ImageChannels { get; init; } = 1;

    /// <summary>Image height H; divisible by 2^(levels - 1). Default 28.</summary>
    public int ImageHeight { get; init; } = 28;

    /// <summary>Image width W; divisible by 2^(levels - 1). Default 28.</summary>
    public int ImageWidth { get; init; } = 28;

    /// <summary>Channels of each level, from the image resolution down. Default [32, 64, 64] (28x28 -> 7x7).</summary>
    public int[] LevelChannels { get; init; } = [32, 64, 64];

    /// <summary>Residual blocks per level. Default 1.</summary>
    public int BlocksPerLevel { get; init; } = 1;

    /// <summary>GroupNorm groups; every level's channel count must be divisible by it. Default 8.</summary>
    public int GroupNormGroups { get; init; } = 8;

    /// <summary>Factor by which the latent grid is smaller than the image: 2^(levels - 1).</summary>
    [JsonIgnore]
    public int DownsamplingFactor => 1 << (LevelChannels.Length - 1);

    /// <summary>Height of the latent grid.</summary>
    [JsonIgnore]
    public int LatentHeight => ImageHeight / DownsamplingFactor;

    /// <summary>Width of the latent grid.</summary>
    [JsonIgnore]
    public int LatentWidth => ImageWidth / DownsamplingFactor;

    /// <summary>Checks that the options describe a buildable backbone.</summary>
    /// <exception cref="ArgumentException">A value is out of range; the message says which and how to fix it.</exception>
    public void Validate()
    {
        if (ImageChannels < 1) throw new ArgumentException($"ImageChannels must be >= 1, got {ImageChannels}.", nameof(ImageChannels));
        if (LevelChannels is null || LevelChannels.Length == 0)
            throw new ArgumentException("LevelChannels must list at least one level, e.g. [32, 64].", nameof(LevelChannels));
        if (LevelChannels.Length > 6) throw new ArgumentException($"At most 6 levels are supported, got {LevelChannels.Length}.", nameof(LevelChannels));
        if (GroupNormGroups < 1) throw new ArgumentException($"GroupNormGroups must be >= 1, got {GroupNormGroups}.", nameof(GroupNormGroups));
        foreach (int c in LevelChannels)
            if (c < 1 || c % GroupNormGroups != 0)
                throw new ArgumentException($"Every level's channel count must be a positive multiple of GroupNormGroups ({GroupNormGroups}); got {c}.", nameof(LevelChannels));
        if (BlocksPerLevel < 0) throw new ArgumentException($"BlocksPerLevel must be >= 0, got {BlocksPerLevel}.", nameof(BlocksPerLevel));
        int f = DownsamplingFactor;
        if (ImageHeight < f || ImageWidth < f || ImageHeight % f != 0 || ImageWidth % f != 0)
            throw new ArgumentException(
                $"The image size {ImageHeight}x{ImageWidth} must be divisible by 2^(levels - 1) = {f} for {LevelChannels.Length} levels; " +
                "use fewer levels or resize the images.", nameof(ImageHeight));
    }
}
