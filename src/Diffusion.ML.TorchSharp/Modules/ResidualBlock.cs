using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Diffusion.ML.TorchSharp.Modules;

/// <summary>
/// DDPM residual block conditioned on an embedding:
/// <c>GN -&gt; SiLU -&gt; conv3x3 -&gt; + Linear(SiLU(emb)) -&gt; GN -&gt; SiLU -&gt; dropout -&gt; conv3x3</c>,
/// added to the input (through a 1x1 convolution when the channel count changes).
/// </summary>
public sealed partial class ResidualBlock : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly GroupNorm norm1;
    private readonly Conv2d conv1;
    private readonly Linear embeddingProjection;
    private readonly GroupNorm norm2;
    private readonly Dropout dropout;
    private readonly Conv2d conv2;
    private readonly Conv2d? skip;

    /// <summary>Creates the block.</summary>
    /// <param name="inChannels">Input channels; divisible by <paramref name="groups"/>.</param>
    /// <param name="outChannels">Output channels; divisible by <paramref name="groups"/>.</param>
    /// <param name="embeddingDim">Width of the conditioning embedding.</param>
    /// <param name="groups">GroupNorm groups.</param>
    /// <param name="dropout">Dropout probability before the second convolution.</param>
    public ResidualBlock(int inChannels, int outChannels, int embeddingDim, int groups, double dropout = 0.0)
        : base(nameof(ResidualBlock))
    {
        InChannels = inChannels;
        OutChannels = outChannels;
        norm1 = Layers.GroupNorm(groups, inChannels);
        conv1 = nn.Conv2d(inChannels, outChannels, 3, padding: 1);
        embeddingProjection = nn.Linear(embeddingDim, outChannels);
        norm2 = Layers.GroupNorm(groups, outChannels);
        this.dropout = nn.Dropout(dropout);
        conv2 = nn.Conv2d(outChannels, outChannels, 3, padding: 1);
        skip = inChannels == outChannels ? null : nn.Conv2d(inChannels, outChannels, 1);
        RegisterComponents();
    }

    /// <summary>Input channels.</summary>
    public int InChannels { get; }

    /// <summary>Output channels.</summary>
    public int OutChannels { get; }

    /// <summary>Applies the block.</summary>
    /// <param name="x">Feature map <c>[B, InChannels, H, W]</c>.</param>
    /// <param name="embedding">Conditioning <c>[B, embeddingDim]</c>.</param>
    /// <returns><c>[B, OutChannels, H, W]</c>; a new tensor.</returns>
    public override Tensor forward(Tensor x, Tensor embedding)
    {
        using var scope = torch.NewDisposeScope();
        var h = Layers.Convolve(conv1, nn.functional.silu(norm1.call(x)));
        var e = embeddingProjection.call(nn.functional.silu(embedding));
        h = Layers.Add(h, e.unsqueeze(-1).unsqueeze(-1));
        h = Layers.Convolve(conv2, dropout.call(nn.functional.silu(norm2.call(h))));
        var residual = skip is null ? x : Layers.Convolve(skip, x);
        return Layers.Add(residual, h).MoveToOuterDisposeScope();
    }
}
