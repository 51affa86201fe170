using Diffusion.ML.Sampling;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Diffusion.ML.TorchSharp.Autoencoders;

/// <summary>
/// The classic one-hidden-layer autoencoders: plain, denoising (Vincent et al. 2008), sparse (Ng 2011), k-sparse
/// (Makhzani and Frey 2013) and contractive (Rifai et al. 2011). Encoder h = sigmoid(W x + b) (k-sparse: the top k of
/// W x + b), decoder x_hat = W' h + b' (linear, data scale [-1, 1]). The loss is the squared error summed over the pixels,
/// averaged over the batch, plus the variant's penalty per image.
/// </summary>
public sealed partial class ClassicAutoencoder : ImageAutoencoder
{
    /// <summary>The kind stored in checkpoints.</summary>
    public const string KindName = "classic";

    private readonly Linear encoder;
    private readonly Linear decoder;

    /// <summary>Builds the network with fresh weights (from TorchSharp's global generator).</summary>
    /// <param name="options">The variant and its settings.</param>
    public ClassicAutoencoder(ClassicAutoencoderOptions options) : base(nameof(ClassicAutoencoder))
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;
        encoder = nn.Linear(options.InputDimension, options.HiddenUnits);
        decoder = nn.Linear(options.HiddenUnits, options.InputDimension);
        RegisterComponents();
    }

    /// <summary>The options.</summary>
    public ClassicAutoencoderOptions Options { get; }

    /// <summary>The encoder weight W <c>[units, inputs]</c>.</summary>
    public Tensor EncoderWeight => encoder.weight!;

    /// <inheritdoc />
    public override string Kind => KindName;

    /// <inheritdoc />
    public override string ConfigJson => Options.ToJson();

    /// <inheritdoc />
    public override long[] ImageShape => [Options.ImageChannels, Options.ImageHeight, Options.ImageWidth];

    /// <inheritdoc />
    public override long[] LatentShape => [Options.HiddenUnits];

    /// <summary>The hidden code h <c>[B, units]</c>: sigmoid(W x + b), or for k-sparse the top k of W x + b.</summary>
    /// <param name="images">Images <c>[B, ...ImageShape]</c>.</param>
    public override Tensor Encode(Tensor images)
    {
        CheckImages(images);
        using var scope = NewDisposeScope();
        var pre = encoder.call(images.reshape(images.shape[0], -1));
        var h = Options.Kind == ClassicAutoencoderKind.KSparse ? AutoencoderMath.TopK(pre, Options.K) : pre.sigmoid();
        return h.MoveToOuterDisposeScope();
    }

    /// <summary>The reconstruction W' h + b' as images <c>[B, ...ImageShape]</c>.</summary>
    /// <param name="latents">Hidden codes <c>[B, units]</c>.</param>
    public override Tensor Decode(Tensor latents)
    {
        CheckLatents(latents);
        using var scope = NewDisposeScope();
        return decoder.call(latents).reshape([latents.shape[0], .. ImageShape]).MoveToOuterDisposeScope();
    }

    /// <summary>The corrupted input x~ of a denoising autoencoder (Vincent et al. 2008, Sec. 2.3), drawn from <paramref name="noise"/>.</summary>
    /// <param name="images">Clean images.</param>
    /// <param name="noise">The random stream.</param>
    public Tensor Corrupt(Tensor images, SampleNoise noise)
    {
        ArgumentNullException.ThrowIfNull(noise);
        using var scope = NewDisposeScope();
        if (Options.Corruption == InputCorruption.Gaussian)
            return (images + Options.CorruptionLevel * StandardNormal(noise, images.shape, images.device)).MoveToOuterDisposeScope();
        var keep = new float[images.numel()];
        for (int i = 0; i < keep.Length; i++) keep[i] = noise.NextUniform() < Options.CorruptionLevel ? 0f : 1f;
        var mask = tensor(keep, images.shape, device: images.device);
        return (images * mask + (mask - 1)).MoveToOuterDisposeScope(); // masked values become -1
    }

    /// <inheritdoc />
    /// <remarks>Terms: "reconstruction" (squared error per image), "mse" (per element), and "penalty" (the variant's
    /// weighted penalty per image; 0 for plain, denoising and k-sparse).</remarks>
    public override AutoencoderLoss Loss(Tensor images, SampleNoise noise)
    {
        ArgumentNullException.ThrowIfNull(noise);
        var input = Options.Kind == ClassicAutoencoderKind.Denoising ? Corrupt(images, noise) : images;
        var h = Encode(input);
        var reconstruction = Decode(h);
        var squared = AutoencoderMath.SumPerSample((reconstruction - images).square()).mean();
        var penalty = Options.Kind switch
        {
            ClassicAutoencoderKind.Sparse => Options.SparsityWeight * AutoencoderMath.SparsityKl(h, Options.SparsityTarget),
            ClassicAutoencoderKind.Contractive => Options.ContractiveWeight * AutoencoderMath.ContractivePenalty(h, encoder.weight!).mean(),
            _ => zeros([], device: images.device),
        };
        var terms = new Dictionary<string, Tensor>
        {
            ["reconstruction"] = squared,
            ["mse"] = (reconstruction - images).square().mean(),
            ["penalty"] = penalty,
        };
        return new AutoencoderLoss(squared + penalty, terms);
    }
}
