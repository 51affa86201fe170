using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Diffusion.ML.TorchSharp.Modules;

/// <summary>
/// Multi-head self-attention over the pixels of a feature map, with a residual connection:
/// <c>x + proj(softmax(QK^T / sqrt(d)) V)</c>, Q/K/V from a 1x1 convolution of <c>GN(x)</c>.
/// </summary>
public sealed partial class AttentionBlock : nn.Module<Tensor, Tensor>
{
    private readonly int heads;
    private readonly GroupNorm norm;
    private readonly Conv2d qkv;
    private readonly Conv2d projection;

    /// <summary>Creates the block.</summary>
    /// <param name="channels">Channels of the feature map; divisible by <paramref name="groups"/> and <paramref name="heads"/>.</param>
    /// <param name="heads">Number of attention heads.</param>
    /// <param name="groups">GroupNorm groups.</param>
    public AttentionBlock(int channels, int heads, int groups) : base(nameof(AttentionBlock))
    {
        if (heads < 1 || channels % heads != 0)
        {
            throw new ArgumentException($"Attention channels ({channels}) must be divisible by the head count ({heads}).", nameof(heads));
        }
        this.heads = heads;
        norm = Layers.GroupNorm(groups, channels);
        qkv = nn.Conv2d(channels, 3 * channels, 1);
        projection = nn.Conv2d(channels, channels, 1);
        RegisterComponents();
    }

    /// <summary>Applies attention.</summary>
    /// <param name="x">Feature map <c>[B, C, H, W]</c>.</param>
    /// <returns>Same shape as <paramref name="x"/>; a new tensor.</returns>
    public override Tensor forward(Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        var (b, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3]);
        var headDim = c / heads;
        // [B, 3C, H, W] -> [3, B, heads, HW, d]
        var qkvHeads = Layers.Convolve(qkv, norm.call(x)).reshape(b, 3, heads, headDim, h * w).permute(1, 0, 2, 4, 3);
        // Contiguous q, k, v: on the strided views libtorch 2.10's CPU attention ran the reference UNet's inference at
        // batch 64 about half as fast (docs/benchmarks.md, "Fixes").
        var attended = nn.functional.scaled_dot_product_attention(qkvHeads[0].contiguous(), qkvHeads[1].contiguous(), qkvHeads[2].contiguous());
        // [B, heads, HW, d] -> [B, C, H, W]
        var merged = attended.permute(0, 1, 3, 2).reshape(b, c, h, w);
        return Layers.Add(x, Layers.Convolve(projection, merged)).MoveToOuterDisposeScope();
    }
}
