using Diffusion.ML.MLNet;
using Diffusion.ML.TorchSharp.Modules;

namespace FashionMnistPipeline;

/// <summary>
/// The two sizes of the sample: "full" trains the default VAE (1,500 steps) and latent DiT (3,000 steps) at batch 64 on
/// 20,000 images, a run of tens of minutes on 2 CPU cores (about 0.7 s per VAE step was seen on a busy machine; the
/// whole run is not timed yet); "quick" runs the same pipeline with tiny networks in seconds (a smoke test: the images
/// are noise-like).
/// </summary>
internal sealed record PipelineSettings(int Rows, VaeEstimator.Options Vae, DenoiserTrainerEstimator.Options Denoiser)
{
    public static PipelineSettings Create(string preset, int? rows, long? vaeSteps, long? denoiserSteps, long seed, string? checkpoints)
    {
        var settings = preset switch
        {
            "full" => new PipelineSettings(20_000,
                new VaeEstimator.Options { Steps = 1500, BatchSize = 64 },
                new DenoiserTrainerEstimator.Options { Steps = 3000, BatchSize = 64 }),
            "quick" => new PipelineSettings(256,
                new VaeEstimator.Options { Steps = 8, BatchSize = 16, LevelChannels = [8, 8, 8], GroupNormGroups = 4, LatentChannels = 2, WarmupSteps = 2 },
                new DenoiserTrainerEstimator.Options
                {
                    Steps = 8, BatchSize = 16, WarmupSteps = 2, Architecture = DenoiserArchitecture.Dit,
                    Dit = new DitOptions { PatchSize = 1, HiddenSize = 16, Depth = 1, Heads = 2, FrequencyEmbeddingSize = 16 },
                }),
            _ => throw new ArgumentException($"Unknown preset '{preset}'; use full or quick."),
        };
        settings.Vae.Seed = settings.Denoiser.Seed = seed;
        settings.Vae.CheckpointFolder = settings.Denoiser.CheckpointFolder = checkpoints;
        if (vaeSteps is { } v) settings.Vae.Steps = v;
        if (denoiserSteps is { } d) settings.Denoiser.Steps = d;
        return settings with { Rows = rows ?? settings.Rows };
    }
}
