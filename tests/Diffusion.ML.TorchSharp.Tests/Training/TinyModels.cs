using Diffusion.ML.Data;
using Diffusion.ML.TorchSharp.Modules;
using TorchSharp;

namespace Diffusion.ML.TorchSharp.Tests.Training;

/// <summary>Small networks and data sets that keep the training tests fast on 2 CPU cores.</summary>
internal static class TinyModels
{
    public static UNet UNet(int classes = 3) => new(new UNetOptions
    {
        ImageSize = 8, BaseChannels = 8, ChannelMultipliers = [1, 2], ResidualBlocksPerLevel = 1,
        AttentionResolutions = [4], AttentionHeads = 2, GroupNormGroups = 4, ClassCount = classes, Dropout = 0.1,
    });

    /// <summary>
    /// <see cref="UNet"/> without dropout (nothing random in a pass), every parameter drawn from N(0, 0.2^2) so that no
    /// zero-initialised layer hides a path; in training mode.
    /// </summary>
    public static UNet RandomUNet(bool learnSigma = false, long seed = 3)
    {
        torch.manual_seed(seed);
        var net = new UNet(new UNetOptions
        {
            ImageSize = 8, BaseChannels = 8, ChannelMultipliers = [1, 2], ResidualBlocksPerLevel = 1, AttentionResolutions = [4],
            AttentionHeads = 2, GroupNormGroups = 4, ClassCount = 3, LearnSigma = learnSigma,
        });
        using (torch.no_grad())
            foreach (var p in net.parameters()) p.normal_(0, 0.2);
        return net;
    }

    public static MlpDenoiser Mlp(int classes = 0) => new(new MlpDenoiserOptions { HiddenWidth = 32, HiddenLayers = 2, ClassCount = classes });

    /// <summary>Random 8x8 grey images with labels 0..2.</summary>
    public static ImageDataset Images(int count = 40, int seed = 1)
    {
        var rng = new Random(seed);
        var pixels = new float[count * 64];
        for (int i = 0; i < pixels.Length; i++) pixels[i] = (float)(rng.NextDouble() * 2 - 1);
        var labels = Enumerable.Range(0, count).Select(i => i % 3).ToArray();
        return new ImageDataset(count, 1, 8, 8, pixels, labels, 3);
    }

    /// <summary>2-D points from N((1, -1), 0.1^2 I), stored as a 2x1x1 "image" per point.</summary>
    public static ImageDataset Points(int count = 256, int seed = 2)
    {
        var rng = new Random(seed);
        var values = new float[count * 2];
        for (int i = 0; i < count; i++)
        {
            values[2 * i] = 1f + 0.1f * Normal(rng);
            values[2 * i + 1] = -1f + 0.1f * Normal(rng);
        }
        return new ImageDataset(count, 2, 1, 1, values);
    }

    private static float Normal(Random rng) => (float)(Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble()));
}
