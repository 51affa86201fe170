using Diffusion.ML.TorchSharp.Autoencoders;
using TorchSharp;

namespace Diffusion.ML.TorchSharp.Tests.Autoencoders;

/// <summary>Autoencoders small enough for 2 CPU cores: 8x8 grey images, 2 levels of 8 channels (4x4 latents).</summary>
internal static class TinyAutoencoders
{
    public static ConvBackboneOptions Backbone => new()
    {
        ImageChannels = 1, ImageHeight = 8, ImageWidth = 8, LevelChannels = [8, 8], BlocksPerLevel = 1, GroupNormGroups = 4,
    };

    public static VariationalAutoencoder Vae(long seed = 1, ReconstructionLikelihood likelihood = ReconstructionLikelihood.Gaussian, double beta = 1)
    {
        torch.manual_seed(seed);
        return new VariationalAutoencoder(new VaeOptions { Backbone = Backbone, LatentChannels = 2, Likelihood = likelihood, Beta = beta });
    }

    public static VqVae VqVae(long seed = 1, bool ema = true, bool kmeans = false, double deadCodeThreshold = 1.0)
    {
        torch.manual_seed(seed);
        return new VqVae(new VqVaeOptions
        {
            Backbone = Backbone, CodebookSize = 6, CodeDimension = 3, EmaUpdates = ema, KMeansInit = kmeans, DeadCodeThreshold = deadCodeThreshold,
        });
    }

    public static ClassicAutoencoder Classic(ClassicAutoencoderKind kind, long seed = 1, int hidden = 12, int k = 3)
    {
        torch.manual_seed(seed);
        return new ClassicAutoencoder(new ClassicAutoencoderOptions { Kind = kind, ImageHeight = 8, ImageWidth = 8, HiddenUnits = hidden, K = k });
    }

    /// <summary>Deterministic values in [-1, 1).</summary>
    public static float[] Uniform(int count, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
    }
}
