using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Diffusion.ML.TorchSharp.Modules;

/// <summary>
/// DDPM / improved-DDPM UNet noise predictor for square images. Per level (resolution halved between levels):
/// <see cref="UNetOptions.ResidualBlocksPerLevel"/> residual blocks on the way down, each followed by self-attention
/// where the level's resolution is in <see cref="UNetOptions.AttentionResolutions"/>; a middle block
/// (residual, attention, residual); on the way up one more residual block per level, each taking a skip connection
/// by concatenation. The time embedding (plus the class embedding when conditional) conditions every residual block.
/// The final 3x3 convolution is zero-initialised (common DDPM practice), so a fresh network predicts exactly 0;
/// gradients reach the earlier layers from the first optimizer step on.
/// </summary>
public sealed partial class UNet : DenoiserNetwork
{
    /// <summary>Value of <see cref="Kind"/> for UNets.</summary>
    public const string KindName = "unet";

    private readonly TimestepEmbedding timeEmbedding;
    private readonly Embedding? classEmbedding;
    private readonly Conv2d inputConv;
    private readonly ModuleList<TimestepSequential> encoder;
    private readonly TimestepSequential middle;
    private readonly ModuleList<TimestepSequential> decoder;
    private readonly GroupNorm outputNorm;
    private readonly Conv2d outputConv;

    /// <summary>Builds the network.</summary>
    /// <param name="options">Architecture; null means the reference 28x28x1 defaults.</param>
    /// <exception cref="ArgumentException">The options are invalid.</exception>
    public UNet(UNetOptions? options = null) : base(nameof(UNet))
    {
        Options = options ?? new UNetOptions();
        Options.Validate();
        var o = Options;
        var embDim = o.EmbeddingDim;
        var groups = o.GroupNormGroups;
        var attentionAt = o.AttentionResolutions.ToHashSet();
        var levels = o.ChannelMultipliers.Count;

        timeEmbedding = new TimestepEmbedding(o.BaseChannels, embDim);
        classEmbedding = o.ClassCount > 0 ? nn.Embedding(o.ClassCount + 1, embDim) : null;
        inputConv = nn.Conv2d(o.ImageChannels, o.BaseChannels, 3, padding: 1);

        // Encoder: every entry yields one skip connection (the input conv's output is the first).
        var encoderBlocks = new List<TimestepSequential>();
        var skipChannels = new Stack<int>();
        skipChannels.Push(o.BaseChannels);
        var channels = o.BaseChannels;
        var resolution = o.ImageSize;
        for (var level = 0; level < levels; level++)
        {
            var levelChannels = o.BaseChannels * o.ChannelMultipliers[level];
            for (var i = 0; i < o.ResidualBlocksPerLevel; i++)
            {
                encoderBlocks.Add(ResidualStage(channels, levelChannels, attentionAt.Contains(resolution)));
                channels = levelChannels;
                skipChannels.Push(channels);
            }
            if (level < levels - 1)
            {
                encoderBlocks.Add(new TimestepSequential(new Downsample(channels)));
                skipChannels.Push(channels);
                resolution /= 2;
            }
        }

        middle = new TimestepSequential(
            new ResidualBlock(channels, channels, embDim, groups, o.Dropout),
            new AttentionBlock(channels, o.AttentionHeads, groups),
            new ResidualBlock(channels, channels, embDim, groups, o.Dropout));

        // Decoder: every entry consumes one skip connection, concatenated before its residual block.
        var decoderBlocks = new List<TimestepSequential>();
        for (var level = levels - 1; level >= 0; level--)
        {
            var levelChannels = o.BaseChannels * o.ChannelMultipliers[level];
            for (var i = 0; i <= o.ResidualBlocksPerLevel; i++)
            {
                var blocks = new List<nn.Module>
                {
                    new ResidualBlock(channels + skipChannels.Pop(), levelChannels, embDim, groups, o.Dropout),
                };
                channels = levelChannels;
                if (attentionAt.Contains(resolution))
                {
                    blocks.Add(new AttentionBlock(channels, o.AttentionHeads, groups));
                }
                if (level > 0 && i == o.ResidualBlocksPerLevel)
                {
                    blocks.Add(new Upsample(channels));
                    resolution *= 2;
                }
                decoderBlocks.Add(new TimestepSequential([.. blocks]));
            }
        }

        encoder = nn.ModuleList([.. encoderBlocks]);
        decoder = nn.ModuleList([.. decoderBlocks]);
        outputNorm = Layers.GroupNorm(groups, channels);
        outputConv = nn.Conv2d(channels, o.OutputChannels, 3, padding: 1);
        using (torch.no_grad())
        {
            outputConv.weight!.zero_();
            outputConv.bias!.zero_();
        }
        RegisterComponents();

        TimestepSequential ResidualStage(int inChannels, int outChannels, bool withAttention) => withAttention
            ? new TimestepSequential(
                new ResidualBlock(inChannels, outChannels, embDim, groups, o.Dropout),
                new AttentionBlock(outChannels, o.AttentionHeads, groups))
            : new TimestepSequential(new ResidualBlock(inChannels, outChannels, embDim, groups, o.Dropout));
    }

    /// <summary>The (validated) architecture options.</summary>
    public UNetOptions Options { get; }

    /// <inheritdoc/>
    public override int ClassCount => Options.ClassCount;

    /// <inheritdoc />
    public override bool LearnsVariance => Options.LearnSigma;

    /// <inheritdoc/>
    public override long[] SampleShape => [Options.ImageChannels, Options.ImageSize, Options.ImageSize];

    /// <inheritdoc/>
    public override string Kind => KindName;

    /// <inheritdoc/>
    public override string ConfigJson => Options.ToJson();

    /// <summary>The zero-initialised final convolution (exposed to tests).</summary>
    internal Conv2d OutputConvolution => outputConv;

    /// <summary>The first convolution, applied to the input image (exposed to tests).</summary>
    internal Conv2d InputConvolution => inputConv;

    /// <summary>Predicts the noise.</summary>
    /// <param name="x">Noisy images, float32 <c>[B, ImageChannels, H, W]</c> (normally H = W = ImageSize; other
    /// sizes divisible by 2^(levels-1) also work).</param>
    /// <param name="t">Timesteps, float32 <c>[B]</c> (fractional allowed) or a scalar.</param>
    /// <param name="classLabels">int64 <c>[B]</c> in <c>0..ClassCount</c> (<c>ClassCount</c> = null class), or null;
    /// must be null for unconditional networks.</param>
    /// <returns><c>[B, OutputChannels, H, W]</c>; a new tensor.</returns>
    public override Tensor forward(Tensor x, Tensor t, Tensor? classLabels)
    {
        ArgumentNullException.ThrowIfNull(x);
        var factor = 1L << (Options.ChannelMultipliers.Count - 1);
        if (x.dim() != 4 || x.shape[1] != Options.ImageChannels || x.shape[2] % factor != 0 || x.shape[3] % factor != 0)
        {
            throw new ArgumentException(
                $"Expected images [B, {Options.ImageChannels}, H, W] with H and W divisible by {factor}; got [{string.Join(", ", x.shape)}].",
                nameof(x));
        }

        using var scope = torch.NewDisposeScope();
        var batch = x.shape[0];
        var embedding = ConditioningEmbedding(timeEmbedding, classEmbedding, t, classLabels, batch, x.device);

        var h = Layers.Convolve(inputConv, x);
        var skips = new Stack<Tensor>();
        skips.Push(h);
        foreach (var stage in encoder)
        {
            h = stage.call(h, embedding);
            skips.Push(h);
        }
        h = middle.call(h, embedding);
        foreach (var stage in decoder)
        {
            h = stage.call(torch.cat([h, skips.Pop()], 1), embedding);
        }
        var output = Layers.Convolve(outputConv, nn.functional.silu(outputNorm.call(h)));
        return output.MoveToOuterDisposeScope();
    }
}
