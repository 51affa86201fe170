using Diffusion.ML.TorchSharp.Modules;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Diffusion.ML.TorchSharp.Autoencoders;

/// <summary>
/// Unconditioned pre-activation residual block (He et al. 2016, "Identity mappings"; the ResnetBlock of latent diffusion's
/// autoencoder without a time embedding): <c>x + conv(SiLU(GN(conv(SiLU(GN(x))))))</c>, the skip through a 1x1
/// convolution when the channel count changes.
/// </summary>
public sealed partial class ConvResidualBlock : nn.Module<Tensor, Tensor>
{
    private readonly GroupNorm norm1;
    private readonly Conv2d conv1;
    private readonly GroupNorm norm2;
    private readonly Conv2d conv2;
    private readonly Conv2d? skip;

    /// <summary>Creates the block.</summary>
    /// <param name="inChannels">Input channels; divisible by <paramref name="groups"/>.</param>
    /// <param name="outChannels">Output channels; divisible by <paramref name="groups"/>.</param>
    /// <param name="groups">GroupNorm groups.</param>
    public ConvResidualBlock(int inChannels, int outChannels, int groups) : base(nameof(ConvResidualBlock))
    {
        norm1 = Layers.GroupNorm(groups, inChannels);
        conv1 = nn.Conv2d(inChannels, outChannels, 3, padding: 1);
        norm2 = Layers.GroupNorm(groups, outChannels);
        conv2 = nn.Conv2d(outChannels, outChannels, 3, padding: 1);
        skip = inChannels == outChannels ? null : nn.Conv2d(inChannels, outChannels, 1);
        RegisterComponents();
    }

    /// <summary>Applies the block to <c>[B, in, H, W]</c>, giving <c>[B, out, H, W]</c> (a new tensor).</summary>
    /// <param name="x">Feature map.</param>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var h = Layers.Convolve(conv1, nn.functional.silu(norm1.call(x)));
        h = Layers.Convolve(conv2, nn.functional.silu(norm2.call(h)));
        var residual = skip is null ? x : Layers.Convolve(skip, x);
        return Layers.Add(residual, h).MoveToOuterDisposeScope();
    }
}
