using System.Text.Json.Serialization;

namespace Diffusion.ML.TorchSharp.Autoencoders;

/// <summary>The regularisation of a <see cref="ClassicAutoencoder"/>.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<ClassicAutoencoderKind>))]
public enum ClassicAutoencoderKind
{
    /// <summary>Reconstruction only (sigmoid hidden layer).</summary>
    Plain,

    /// <summary>Reconstruct the clean input from a corrupted one (Vincent et al. 2008): masking or Gaussian noise.</summary>
    Denoising,

    /// <summary>Reconstruction + beta sum_j KL(rho || rho_hat_j) on the mean hidden activations (Ng 2011).</summary>
    Sparse,

    /// <summary>Linear hidden layer keeping only the k largest activations per sample (Makhzani and Frey 2013).</summary>
    KSparse,

    /// <summary>Reconstruction + lambda ||J_f(x)||_F^2, the encoder Jacobian's squared Frobenius norm (Rifai et al. 2011).</summary>
    Contractive,
}

/// <summary>The input corruption of a denoising autoencoder (Vincent et al. 2008, Sec. 2.3; Vincent et al. 2010, Sec. 4.2).</summary>
[JsonConverter(typeof(JsonStringEnumConverter<InputCorruption>))]
public enum InputCorruption
{
    /// <summary>Masking noise: each input value is set to the black level -1 (0 in the paper's [0, 1] scale) with probability nu.</summary>
    Masking,

    /// <summary>Additive isotropic Gaussian noise x + sigma eps.</summary>
    Gaussian,
}
