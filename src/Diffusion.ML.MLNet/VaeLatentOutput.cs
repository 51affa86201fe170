namespace Diffusion.ML.MLNet;

/// <summary>What a VAE transformer writes for each image (<see cref="VaeEstimator.Options.LatentOutput"/>); both are times the latent scale.</summary>
public enum VaeLatentOutput
{
    /// <summary>The posterior mean mu(x): deterministic, the usual input of a latent denoiser (Rombach et al. 2022).</summary>
    Mean,

    /// <summary>
    /// A posterior sample z = mu + exp(logvar / 2) eps (Kingma and Welling 2014, sec. 2.4), eps ~ N(0, I) drawn per row
    /// from <see cref="VaeEstimator.Options.SampleSeed"/> and the row's key inside the ONNX graph, so a saved model
    /// reproduces it.
    /// </summary>
    Sample,
}
