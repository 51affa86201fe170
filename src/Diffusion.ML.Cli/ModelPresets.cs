using Diffusion.ML.Data;
using Diffusion.ML.TorchSharp.Modules;

namespace Diffusion.ML.Cli;

/// <summary>Default network architectures for a data set's sample shape.</summary>
internal static class ModelPresets
{
    /// <summary>
    /// The reference UNet (base 64, multipliers 1-2-2, attention at 14 and 7) for 28x28; a UNet scaled to the image for
    /// other sizes; an MLP for points (1x1 "images").
    /// </summary>
    public static DenoiserNetwork Create(ImageDataset data, int? baseChannels, IReadOnlyList<int>? attentionResolutions, bool conditional,
        bool learnSigma = false)
    {
        int classes = conditional ? data.ClassCount : 0;
        if (data.Height == 1 && data.Width == 1)
        {
            if (learnSigma) throw new ArgumentException("--learn-sigma needs a UNet or a DiT; the MLP for points predicts the noise only.");
            return new MlpDenoiser(new MlpDenoiserOptions { InputDim = data.Channels, ClassCount = classes });
        }
        if (data.Height != data.Width)
            throw new ArgumentException($"The UNet needs square images; the data has {data.Width}x{data.Height}.");
        int size = data.Height;
        UNetOptions options = size switch
        {
            <= 8 => new UNetOptions { ChannelMultipliers = [1, 2], ResidualBlocksPerLevel = 2, AttentionResolutions = [size / 2], BaseChannels = 32 },
            <= 16 => new UNetOptions { ChannelMultipliers = [1, 2], AttentionResolutions = [size / 2] },
            _ when size % 4 == 0 => new UNetOptions { ChannelMultipliers = [1, 2, 2], AttentionResolutions = [size / 2, size / 4] },
            _ => throw new ArgumentException($"No default UNet for {size}x{size} images: the size must be a multiple of 4 (or at most 16)."),
        };
        int channels = baseChannels ?? options.BaseChannels;
        return new UNet(new UNetOptions
        {
            ImageChannels = data.Channels,
            ImageSize = size,
            BaseChannels = channels,
            GroupNormGroups = Math.Min(32, channels),
            ChannelMultipliers = options.ChannelMultipliers,
            ResidualBlocksPerLevel = options.ResidualBlocksPerLevel,
            AttentionResolutions = attentionResolutions ?? options.AttentionResolutions,
            ClassCount = classes,
            LearnSigma = learnSigma,
        });
    }
}
