using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Diffusion.ML.TorchSharp.Modules;

/// <summary>
/// DiT's "patchify" layer (Peebles and Xie 2022, Sec. 3.2, Fig. 4): every non-overlapping p x p patch of the image is
/// linearly embedded into a d-wide token, written as a p x p convolution with stride p. Tokens come out row-major
/// (<c>i * columns + j</c>), as the reference's <c>PatchEmbed</c> (<c>flatten(2).transpose(1, 2)</c>).
/// </summary>
public sealed partial class PatchEmbedding : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d projection;

    /// <summary>Creates the layer, initialised like a linear layer on the flattened patches (xavier-uniform weight over
    /// <c>[d, C p p]</c>, zero bias), as the reference's <c>initialize_weights</c>.</summary>
    /// <param name="channels">Image channels C.</param>
    /// <param name="patchSize">Patch side p.</param>
    /// <param name="hiddenSize">Token width d.</param>
    public PatchEmbedding(int channels, int patchSize, int hiddenSize) : base(nameof(PatchEmbedding))
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(channels);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(patchSize);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(hiddenSize);
        PatchSize = patchSize;
        projection = nn.Conv2d(channels, hiddenSize, patchSize, stride: patchSize);
        using (torch.no_grad())
        {
            nn.init.xavier_uniform_(projection.weight!.view(hiddenSize, -1));
            projection.bias!.zero_();
        }
        RegisterComponents();
    }

    /// <summary>Patch side p.</summary>
    public int PatchSize { get; }

    /// <summary>The p x p stride-p convolution (exposed to tests).</summary>
    internal Conv2d Projection => projection;

    /// <summary>Turns images into tokens.</summary>
    /// <param name="x">Images <c>[B, C, H, W]</c>, H and W divisible by p.</param>
    /// <returns>Tokens <c>[B, (H/p)(W/p), d]</c>; a new tensor.</returns>
    public override Tensor forward(Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        return Layers.Convolve(projection, x).flatten(2).transpose(1, 2).MoveToOuterDisposeScope();
    }
}
