using Diffusion.ML.Sampling;
using TorchSharp;
using static TorchSharp.torch;

namespace Diffusion.ML.TorchSharp.Autoencoders;

/// <summary>
/// Convolutional variational autoencoder (Kingma and Welling 2014): the encoder gives q(z | x) = N(mu, diag sigma^2) as
/// (mu, log sigma^2) on a latent grid, z = mu + sigma * eps (the reparameterisation trick, Sec. 2.4), and the decoder gives
/// p(x | z). The loss is the negative ELBO with a beta-weighted KL: E_q[-log p(x | z)] + beta KL(q(z | x) || N(0, I)),
/// per image in nats, with the KL in closed form (App. B).
/// </summary>
public sealed partial class VariationalAutoencoder : ImageAutoencoder
{
    /// <summary>The kind stored in checkpoints.</summary>
    public const string KindName = "vae";

    /// <summary>log sigma^2 is clamped to this range before use, as in latent diffusion's DiagonalGaussianDistribution.</summary>
    public const double MinLogVariance = -30, MaxLogVariance = 20;

    private readonly ConvEncoder encoder;
    private readonly ConvDecoder decoder;

    /// <summary>Builds the network with fresh weights (from TorchSharp's global generator).</summary>
    /// <param name="options">Architecture and objective.</param>
    public VariationalAutoencoder(VaeOptions options) : base(nameof(VariationalAutoencoder))
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;
        encoder = new ConvEncoder(options.Backbone, 2 * options.LatentChannels);
        decoder = new ConvDecoder(options.Backbone, options.LatentChannels, options.Backbone.ImageChannels);
        RegisterComponents();
    }

    /// <summary>The options.</summary>
    public VaeOptions Options { get; }

    /// <inheritdoc />
    public override string Kind => KindName;

    /// <inheritdoc />
    public override string ConfigJson => Options.ToJson();

    /// <inheritdoc />
    public override long[] ImageShape => [Options.Backbone.ImageChannels, Options.Backbone.ImageHeight, Options.Backbone.ImageWidth];

    /// <inheritdoc />
    public override long[] LatentShape => [Options.LatentChannels, Options.Backbone.LatentHeight, Options.Backbone.LatentWidth];

    /// <summary>The posterior q(z | x): mean and clamped log-variance, each <c>[B, ...LatentShape]</c> (new tensors).</summary>
    /// <param name="images">Images <c>[B, ...ImageShape]</c>.</param>
    public (Tensor Mean, Tensor LogVariance) EncodeDistribution(Tensor images)
    {
        CheckImages(images);
        using var scope = NewDisposeScope();
        var parts = encoder.call(images).chunk(2, 1);
        var mean = parts[0].contiguous();
        var logVariance = parts[1].clamp(MinLogVariance, MaxLogVariance);
        return (mean.MoveToOuterDisposeScope(), logVariance.MoveToOuterDisposeScope());
    }

    /// <summary>The posterior mean: deterministic latents for latent-space models.</summary>
    /// <param name="images">Images <c>[B, ...ImageShape]</c>.</param>
    public override Tensor Encode(Tensor images)
    {
        var (mean, logVariance) = EncodeDistribution(images);
        logVariance.Dispose();
        return mean;
    }

    /// <summary>The decoder's raw output: the Gaussian mean, or the Bernoulli logits.</summary>
    /// <param name="latents">Latents <c>[B, ...LatentShape]</c>.</param>
    public Tensor DecodeParameters(Tensor latents)
    {
        CheckLatents(latents);
        return decoder.call(latents);
    }

    /// <summary>The mean of p(x | z) in the data scale: the Gaussian mean, or 2 sigmoid(logits) - 1 for Bernoulli.</summary>
    /// <param name="latents">Latents <c>[B, ...LatentShape]</c>.</param>
    public override Tensor Decode(Tensor latents)
    {
        using var scope = NewDisposeScope();
        var output = DecodeParameters(latents);
        if (Options.Likelihood == ReconstructionLikelihood.Bernoulli) output = 2 * output.sigmoid() - 1;
        return output.MoveToOuterDisposeScope();
    }

    /// <summary>-log p(x | z) per image, in nats, for decoder output <paramref name="parameters"/>.</summary>
    public Tensor ReconstructionNll(Tensor images, Tensor parameters) => Options.Likelihood == ReconstructionLikelihood.Gaussian
        ? AutoencoderMath.GaussianNll(images, parameters, Options.ObservationStd)
        : AutoencoderMath.BernoulliNll(images, parameters);

    /// <inheritdoc />
    /// <remarks>
    /// One-sample estimate: z = mu + exp(log sigma^2 / 2) eps with eps from <paramref name="noise"/>. Terms, each a mean over
    /// the batch of per-image values: "reconstruction" (-log p(x | z), nats), "kl" (nats), "neg_elbo" (reconstruction + kl),
    /// and "mse" (squared error per element of the mean of p(x | z) at the sampled z).
    /// </remarks>
    public override AutoencoderLoss Loss(Tensor images, SampleNoise noise)
    {
        ArgumentNullException.ThrowIfNull(noise);
        var (mean, logVariance) = EncodeDistribution(images);
        var eps = StandardNormal(noise, mean.shape, mean.device);
        var z = mean + (0.5 * logVariance).exp() * eps;            // reparameterisation, Kingma and Welling 2014, eq. 10
        var parameters = decoder.call(z);
        var reconstruction = ReconstructionNll(images, parameters);
        var kl = AutoencoderMath.GaussianKl(mean, logVariance);
        var total = (reconstruction + Options.Beta * kl).mean();
        var decoded = Options.Likelihood == ReconstructionLikelihood.Bernoulli ? 2 * parameters.sigmoid() - 1 : parameters;
        var terms = new Dictionary<string, Tensor>
        {
            ["reconstruction"] = reconstruction.mean(),
            ["kl"] = kl.mean(),
            ["neg_elbo"] = (reconstruction + kl).mean(),
            ["mse"] = (decoded - images).square().mean(),
        };
        return new AutoencoderLoss(total, terms);
    }
}
