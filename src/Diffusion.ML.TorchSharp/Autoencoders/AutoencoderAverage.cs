using Diffusion.ML.TorchSharp.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Diffusion.ML.TorchSharp.Autoencoders;

/// <summary>
/// The exponential moving average of an autoencoder (<see cref="ExponentialMovingAverage{TModel}"/>), kept in an
/// autoencoder rebuilt from its kind and config; the latent scale follows the trained model's.
/// </summary>
public sealed class AutoencoderAverage : ExponentialMovingAverage<ImageAutoencoder>
{
    private readonly ImageAutoencoder _source;

    /// <summary>Starts the average at the current weights of <paramref name="source"/>.</summary>
    /// <param name="source">The trained autoencoder.</param>
    /// <param name="maxDecay">The largest decay.</param>
    /// <param name="device">Device of <paramref name="source"/>.</param>
    public AutoencoderAverage(ImageAutoencoder source, double maxDecay, Device device)
        : base(source, Copy(source, device), maxDecay)
    {
        _source = source;
    }

    /// <inheritdoc />
    public override void Update(long step)
    {
        base.Update(step);
        Model.LatentScale = _source.LatentScale;
    }

    private static ImageAutoencoder Copy(ImageAutoencoder source, Device device)
    {
        ArgumentNullException.ThrowIfNull(source);
        var copy = ImageAutoencoder.Create(source.Kind, source.ConfigJson);
        copy.to(device);
        return copy;
    }
}
