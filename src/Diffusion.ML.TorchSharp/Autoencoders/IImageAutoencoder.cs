using static TorchSharp.torch;

namespace Diffusion.ML.TorchSharp.Autoencoders;

/// <summary>
/// An autoencoder seen from a latent-space model (latent diffusion, Rombach et al. 2022): images in the data scale
/// [-1, 1] go to latents and back. <see cref="Encode"/> and <see cref="Decode"/> work in the autoencoder's own latent
/// units; multiply by <see cref="LatentScale"/> before a diffusion model sees them and divide after
/// (<see cref="LatentCodec"/> does both for a whole <see cref="Diffusion.ML.Data.ImageDataset"/>).
/// </summary>
public interface IImageAutoencoder
{
    /// <summary>Shape of one image without the batch dimension, <c>[C, H, W]</c>.</summary>
    long[] ImageShape { get; }

    /// <summary>Shape of one latent without the batch dimension, e.g. <c>[4, 7, 7]</c> (convolutional) or <c>[256]</c> (dense).</summary>
    long[] LatentShape { get; }

    /// <summary>
    /// 1 / (standard deviation of the latents over a data sample), the "scale factor" of latent diffusion (Rombach et
    /// al. 2022, Sec. 4.3.2 and App. G) that gives the diffusion model unit-variance inputs; 1 until computed
    /// (<see cref="LatentCodec.ComputeLatentScale"/>).
    /// </summary>
    double LatentScale { get; }

    /// <summary>Encodes images <c>[B, ...ImageShape]</c> into latents <c>[B, ...LatentShape]</c> (unscaled; a new tensor).</summary>
    /// <param name="images">Images in the data scale [-1, 1].</param>
    Tensor Encode(Tensor images);

    /// <summary>Decodes latents <c>[B, ...LatentShape]</c> (unscaled) into images <c>[B, ...ImageShape]</c> (a new tensor).</summary>
    /// <param name="latents">Latents in the autoencoder's units.</param>
    Tensor Decode(Tensor latents);
}
