using Diffusion.ML.TorchSharp.Modules;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Diffusion.ML.TorchSharp.Autoencoders;

/// <summary>
/// The convolutional encoder shared by the autoencoders: <c>conv3x3 -&gt; [residual blocks, stride-2 downsampling] per
/// level -&gt; residual block -&gt; GN -&gt; SiLU -&gt; conv3x3</c>, mapping <c>[B, C, H, W]</c> to
/// <c>[B, outChannels, H/f, W/f]</c> with f = <see cref="ConvBackboneOptions.DownsamplingFactor"/>.
/// </summary>
public sealed partial class ConvEncoder : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d inputConv;
    private readonly ModuleList<nn.Module<Tensor, Tensor>> blocks;
    private readonly GroupNorm outputNorm;
    private readonly Conv2d outputConv;

    /// <summary>Creates the encoder.</summary>
    /// <param name="options">The backbone shape (validated).</param>
    /// <param name="outChannels">Channels of the output (2 x latent channels for a VAE: mean and log-variance).</param>
    public ConvEncoder(ConvBackboneOptions options, int outChannels) : base(nameof(ConvEncoder))
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        int[] ch = options.LevelChannels;
        int g = options.GroupNormGroups;
        inputConv = nn.Conv2d(options.ImageChannels, ch[0], 3, padding: 1);
        var list = new List<nn.Module<Tensor, Tensor>>();
        int current = ch[0];
        for (int level = 0; level < ch.Length; level++)
        {
            for (int b = 0; b < options.BlocksPerLevel; b++)
            {
                list.Add(new ConvResidualBlock(current, ch[level], g));
                current = ch[level];
            }
            if (current != ch[level])
            {
                list.Add(new ConvResidualBlock(current, ch[level], g));
                current = ch[level];
            }
            if (level < ch.Length - 1) list.Add(new Downsample(current));
        }
        list.Add(new ConvResidualBlock(current, current, g)); // middle block
        blocks = nn.ModuleList(list.ToArray());
        outputNorm = Layers.GroupNorm(g, current);
        outputConv = nn.Conv2d(current, outChannels, 3, padding: 1);
        RegisterComponents();
    }

    /// <summary>Encodes images <c>[B, C, H, W]</c> into feature maps <c>[B, outChannels, H/f, W/f]</c> (a new tensor).</summary>
    /// <param name="x">Images.</param>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var h = Layers.Convolve(inputConv, x);
        foreach (var block in blocks) h = block.call(h);
        return Layers.Convolve(outputConv, nn.functional.silu(outputNorm.call(h))).MoveToOuterDisposeScope();
    }
}
