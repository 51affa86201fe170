using Diffusion.ML.Sampling;
using TorchSharp;
using static TorchSharp.torch;

namespace Diffusion.ML.TorchSharp.Autoencoders;

/// <summary>
/// Base class of the trainable autoencoders (<see cref="VariationalAutoencoder"/>, <see cref="VqVae"/>,
/// <see cref="ClassicAutoencoder"/>): one forward (the reconstruction), one training objective, and what a checkpoint
/// needs to rebuild the architecture (<see cref="Kind"/>, <see cref="ConfigJson"/>).
/// </summary>
public abstract class ImageAutoencoder : nn.Module<Tensor, Tensor>, IImageAutoencoder
{
    private double _latentScale = 1.0;

    /// <summary>Creates the base module with the given TorchSharp module name.</summary>
    /// <param name="name">Module name.</param>
    protected ImageAutoencoder(string name) : base(name)
    {
    }

    /// <summary>Architecture kind stored in checkpoints and accepted by <see cref="Create"/> ("vae", "vqvae", "classic").</summary>
    public abstract string Kind { get; }

    /// <summary>The options as JSON; <see cref="Create"/> rebuilds the same architecture from it.</summary>
    public abstract string ConfigJson { get; }

    /// <inheritdoc />
    public abstract long[] ImageShape { get; }

    /// <inheritdoc />
    public abstract long[] LatentShape { get; }

    /// <inheritdoc />
    /// <exception cref="ArgumentOutOfRangeException">Set to a value that is not finite and positive.</exception>
    public double LatentScale
    {
        get => _latentScale;
        set
        {
            if (!(double.IsFinite(value) && value > 0))
                throw new ArgumentOutOfRangeException(nameof(value), $"The latent scale factor must be finite and > 0; got {value}.");
            _latentScale = value;
        }
    }

    /// <summary>Total number of scalar parameters.</summary>
    public long ParameterCount => parameters().Sum(p => p.numel());

    /// <inheritdoc />
    public abstract Tensor Encode(Tensor images);

    /// <inheritdoc />
    public abstract Tensor Decode(Tensor latents);

    /// <summary>
    /// The training objective of a batch. <paramref name="noise"/> supplies every random draw of the step
    /// (reparameterisation noise, input corruption, codebook restarts), so a step is a pure function of (weights, batch, noise).
    /// In training mode it may also update non-gradient state (a VQ-VAE's EMA codebook).
    /// </summary>
    /// <param name="images">A batch <c>[B, ...ImageShape]</c> in [-1, 1].</param>
    /// <param name="noise">The step's random stream.</param>
    public abstract AutoencoderLoss Loss(Tensor images, SampleNoise noise);

    /// <summary>The deterministic reconstruction <c>Decode(Encode(x))</c>.</summary>
    /// <param name="x">Images <c>[B, ...ImageShape]</c>.</param>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        return Decode(Encode(x)).MoveToOuterDisposeScope();
    }

    /// <summary>Rebuilds an autoencoder from the kind and options JSON stored in a checkpoint (fresh weights).</summary>
    /// <param name="kind">"vae", "vqvae" or "classic".</param>
    /// <param name="configJson">JSON as produced by <see cref="ConfigJson"/>.</param>
    /// <exception cref="ArgumentException">Unknown kind or invalid options.</exception>
    public static ImageAutoencoder Create(string kind, string configJson)
    {
        ArgumentNullException.ThrowIfNull(kind);
        return kind.ToLowerInvariant() switch
        {
            VariationalAutoencoder.KindName => new VariationalAutoencoder(VaeOptions.FromJson(configJson)),
            VqVae.KindName => new VqVae(VqVaeOptions.FromJson(configJson)),
            ClassicAutoencoder.KindName => new ClassicAutoencoder(ClassicAutoencoderOptions.FromJson(configJson)),
            _ => throw new ArgumentException(
                $"Unknown autoencoder kind '{kind}'; expected '{VariationalAutoencoder.KindName}', '{VqVae.KindName}' or '{ClassicAutoencoder.KindName}'.", nameof(kind)),
        };
    }

    /// <summary>Checks that <paramref name="images"/> is <c>[B, ...ImageShape]</c> and says what was wrong otherwise.</summary>
    protected void CheckImages(Tensor images) => CheckShape(images, ImageShape, "images");

    /// <summary>Checks that <paramref name="latents"/> is <c>[B, ...LatentShape]</c>.</summary>
    protected void CheckLatents(Tensor latents) => CheckShape(latents, LatentShape, "latents");

    /// <summary>A standard-normal tensor of <paramref name="shape"/> drawn from <paramref name="noise"/> on <paramref name="device"/>.</summary>
    protected static Tensor StandardNormal(SampleNoise noise, long[] shape, Device device)
    {
        var values = new float[shape.Aggregate(1L, (a, b) => a * b)];
        noise.FillStandardNormal(values);
        return tensor(values, shape, device: device);
    }

    private static void CheckShape(Tensor x, long[] expected, string what)
    {
        ArgumentNullException.ThrowIfNull(x, what);
        if (x.dim() != expected.Length + 1 || !x.shape.Skip(1).SequenceEqual(expected) || x.shape[0] < 1)
            throw new ArgumentException(
                $"The {what} must have shape [batch, {string.Join(", ", expected)}]; got [{string.Join(", ", x.shape)}]. " +
                $"Resize the {what} or build the autoencoder for this size.", what);
    }
}
