using Diffusion.ML.Sampling;
using TorchSharp;
using static TorchSharp.torch;

namespace Diffusion.ML.TorchSharp.Autoencoders;

/// <summary>
/// Vector-quantised VAE (van den Oord et al. 2017): a convolutional encoder to z_e <c>[B, D, h, w]</c>, a
/// <see cref="VectorQuantizer"/> (nearest code, straight-through gradient, EMA codebook) and a convolutional decoder.
/// Loss (eq. 3): ||x - D(z_q)||^2 + ||sg[z_e] - e||^2 (gradient codebook only) + beta ||z_e - sg[e]||^2, each a mean over elements.
/// </summary>
public sealed partial class VqVae : ImageAutoencoder
{
    /// <summary>The kind stored in checkpoints.</summary>
    public const string KindName = "vqvae";

    private readonly ConvEncoder encoder;
    private readonly VectorQuantizer quantizer;
    private readonly ConvDecoder decoder;

    /// <summary>Builds the network with fresh weights (from TorchSharp's global generator).</summary>
    /// <param name="options">Architecture, codebook and objective.</param>
    public VqVae(VqVaeOptions options) : base(nameof(VqVae))
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;
        encoder = new ConvEncoder(options.Backbone, options.CodeDimension);
        quantizer = new VectorQuantizer(options);
        decoder = new ConvDecoder(options.Backbone, options.CodeDimension, options.Backbone.ImageChannels);
        RegisterComponents();
    }

    /// <summary>The options.</summary>
    public VqVaeOptions Options { get; }

    /// <summary>The quantizer (codebook and its statistics).</summary>
    public VectorQuantizer Quantizer => quantizer;

    /// <inheritdoc />
    public override string Kind => KindName;

    /// <inheritdoc />
    public override string ConfigJson => Options.ToJson();

    /// <inheritdoc />
    public override long[] ImageShape => [Options.Backbone.ImageChannels, Options.Backbone.ImageHeight, Options.Backbone.ImageWidth];

    /// <inheritdoc />
    public override long[] LatentShape => [Options.CodeDimension, Options.Backbone.LatentHeight, Options.Backbone.LatentWidth];

    /// <summary>The continuous encoder output z_e <c>[B, D, h, w]</c>, before quantisation.</summary>
    /// <param name="images">Images <c>[B, ...ImageShape]</c>.</param>
    public Tensor EncodeContinuous(Tensor images)
    {
        CheckImages(images);
        return encoder.call(images);
    }

    /// <summary>The quantised latents z_q <c>[B, D, h, w]</c>.</summary>
    /// <param name="images">Images <c>[B, ...ImageShape]</c>.</param>
    public override Tensor Encode(Tensor images)
    {
        using var scope = NewDisposeScope();
        return quantizer.call(EncodeContinuous(images)).MoveToOuterDisposeScope();
    }

    /// <summary>The code indices of images: int64 <c>[B, h, w]</c>.</summary>
    /// <param name="images">Images <c>[B, ...ImageShape]</c>.</param>
    public Tensor EncodeIndices(Tensor images)
    {
        using var scope = NewDisposeScope();
        return quantizer.Indices(EncodeContinuous(images)).MoveToOuterDisposeScope();
    }

    /// <summary>Decodes latents <c>[B, D, h, w]</c> (usually codes) into images.</summary>
    /// <param name="latents">Latents.</param>
    public override Tensor Decode(Tensor latents)
    {
        CheckLatents(latents);
        return decoder.call(latents);
    }

    /// <summary>Decodes code indices <c>[B, h, w]</c> into images.</summary>
    /// <param name="indices">int64 code indices in 0..K-1.</param>
    public Tensor DecodeIndices(Tensor indices)
    {
        using var scope = NewDisposeScope();
        return decoder.call(quantizer.Lookup(indices)).MoveToOuterDisposeScope();
    }

    /// <summary>How often each code is chosen for <paramref name="images"/>: float <c>[K]</c>.</summary>
    /// <param name="images">Images <c>[B, ...ImageShape]</c>.</param>
    public Tensor CodeCounts(Tensor images)
    {
        using var scope = NewDisposeScope();
        var indices = EncodeIndices(images).reshape(-1);
        return nn.functional.one_hot(indices, Options.CodebookSize).to_type(ScalarType.Float32).sum([0]).MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    /// <remarks>Terms (batch values): "mse" (per element), "commitment" (unweighted), "codebook" (gradient codebook only),
    /// "perplexity" and "usage" (fraction of codes chosen in this batch).</remarks>
    public override AutoencoderLoss Loss(Tensor images, SampleNoise noise)
    {
        ArgumentNullException.ThrowIfNull(noise);
        var q = quantizer.Quantize(EncodeContinuous(images), noise);
        var reconstruction = decoder.call(q.StraightThrough);
        var mse = (reconstruction - images).square().mean();
        var total = mse + Options.CommitmentCost * q.CommitmentLoss;
        if (!Options.EmaUpdates) total = total + q.CodebookLoss;
        var p = q.Counts / q.Counts.sum();
        var terms = new Dictionary<string, Tensor>
        {
            ["mse"] = mse,
            ["commitment"] = q.CommitmentLoss,
            ["perplexity"] = (-(p * (p + 1e-10).log()).sum()).exp(),
            ["usage"] = (q.Counts > 0).to_type(ScalarType.Float32).mean(),
        };
        if (!Options.EmaUpdates) terms["codebook"] = q.CodebookLoss;
        return new AutoencoderLoss(total, terms);
    }
}
