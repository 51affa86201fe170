using Diffusion.ML.MLNet;

// In ML.NET's namespace, as ML.NET's own extension packages do, so `using Microsoft.ML;` is all a pipeline needs.
namespace Microsoft.ML;

/// <summary>Reaches the Diffusion.ML components from an <see cref="MLContext"/>.</summary>
public static class DiffusionMLContextExtensions
{
    /// <summary>
    /// The catalog of diffusion components: VAE and VQ-VAE estimators, the noise scheduler, the denoiser trainer and the
    /// sampler.
    /// </summary>
    /// <param name="mlContext">The ML.NET context; its seed is not used (every component takes its own seed option).</param>
    /// <example>
    /// <code>
    /// var ml = new MLContext();
    /// var vae = ml.Diffusion().TrainVae("Latent", "Pixels", new VaeEstimator.Options { Steps = 2000 }).Fit(images);
    /// </code>
    /// </example>
    public static DiffusionCatalog Diffusion(this MLContext mlContext)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        return new DiffusionCatalog(mlContext);
    }
}
