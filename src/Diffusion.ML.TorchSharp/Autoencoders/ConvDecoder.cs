using Diffusion.ML.TorchSharp.Modules;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Diffusion.ML.TorchSharp.Autoencoders;

/// <summary>
/// The mirror of <see cref="ConvEncoder"/>: <c>conv3x3 -&gt; residual block -&gt; [residual blocks, nearest x2 upsampling +
/// conv3x3] per level, deepest first -&gt; GN -&gt; SiLU -&gt; conv3x3</c>, mapping <c>[B, inChannels, H/f, W/f]</c> to
/// <c>[B, outChannels, H, W]</c>.
/// </summary>
public sealed partial class ConvDecoder : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d inputConv;
    private readonly ModuleList<nn.Module<Tensor, Tensor>> blocks;
    private readonly GroupNorm outputNorm;
    private readonly Conv2d outputConv;

    /// <summary>Creates the decoder.</summary>
    /// <param name="options">The backbone shape (validated).</param>
    /// <param name="inChannels">Channels of the latent input.</param>
    /// <param name="outChannels">Channels of the output (the image channels).</param>
    public ConvDecoder(ConvBackboneOptions options, int inChannels, int outChannels) : base(nameof(ConvDecoder))
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        int[] ch = options.LevelChannels;
        int g = options.GroupNormGroups;
        int current = ch[^1];
        inputConv = nn.Conv2d(inChannels, current, 3, padding: 1);
        var list = new List<nn.Module<Tensor, Tensor>> { new ConvResidualBlock(current, current, g) }; // middle block
        for (int level = ch.Length - 1; level >= 0; level--)
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
            if (level > 0) list.Add(new Modules.Upsample(current));
        }
        blocks = nn.ModuleList(list.ToArray());
        outputNorm = Layers.GroupNorm(g, current);
        outputConv = nn.Conv2d(current, outChannels, 3, padding: 1);
        RegisterComponents();
    }

    /// <summary>Decodes latents <c>[B, inChannels, h, w]</c> into <c>[B, outChannels, h f, w f]</c> (a new tensor).</summary>
    /// <param name="z">Latents.</param>
    public override Tensor forward(Tensor z)
    {
        using var scope = NewDisposeScope();
        var h = Layers.Convolve(inputConv, z);
        foreach (var block in blocks) h = block.call(h);
        return Layers.Convolve(outputConv, nn.functional.silu(outputNorm.call(h))).MoveToOuterDisposeScope();
    }
}
