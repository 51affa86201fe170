using Diffusion.ML.TorchSharp.Modules;

namespace Diffusion.ML.MLNet;

/// <summary>The network for the data's sample shape and class count, from the options (their shape and class fields are filled in here).</summary>
internal static class DenoiserNetworks
{
    public static DenoiserNetwork Create(DenoiserTrainerEstimator.Options options, int[] shape, int classCount)
    {
        var architecture = options.Architecture;
        if (architecture == DenoiserArchitecture.Auto)
            architecture = shape[1] == shape[2] && shape[1] % 4 == 0 ? DenoiserArchitecture.UNet : DenoiserArchitecture.Dit;
        if (architecture == DenoiserArchitecture.UNet)
        {
            if (shape[1] != shape[2])
                throw new ArgumentException($"The UNet takes square images; the samples are {shape[1]}x{shape[2]}. Use Architecture = Dit.");
            var unet = (options.UNet ?? new UNetOptions
            {
                BaseChannels = 32, ChannelMultipliers = shape[1] % 4 == 0 ? [1, 2, 2] : [1, 2], ResidualBlocksPerLevel = 1,
                AttentionResolutions = [shape[1] / 4], AttentionHeads = 4, GroupNormGroups = 8,
            }) with { ImageChannels = shape[0], ImageSize = shape[1], ClassCount = classCount };
            return new UNet(unet);
        }
        var dit = (options.Dit ?? new DitOptions
        {
            PatchSize = shape[1] % 2 == 0 && shape[2] % 2 == 0 ? 2 : 1, HiddenSize = 128, Depth = 4, Heads = 4, FrequencyEmbeddingSize = 128,
        }) with { ImageChannels = shape[0], ImageHeight = shape[1], ImageWidth = shape[2], ClassCount = classCount };
        return new Dit(dit);
    }
}
