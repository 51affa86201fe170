using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Diffusion.ML.TorchSharp.Modules;

/// <summary>
/// DiT's output layer (Peebles and Xie 2022, Sec. 3.2, "Transformer decoder"): adaptive LayerNorm (shift and scale from
/// <c>SiLU -&gt; Linear(d, 2d)</c> of the conditioning), then a linear decoder of every token into its p x p x C_out patch,
/// ordered <c>(row in patch, column in patch, channel)</c> as the reference's <c>unpatchify</c> expects. Both linear
/// layers are zero-initialised, so a fresh network outputs exactly 0.
/// </summary>
public sealed partial class DitFinalLayer : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly LayerNorm norm;
    private readonly Linear linear;
    private readonly Linear modulation;

    /// <summary>Creates the layer.</summary>
    /// <param name="hiddenSize">Token width d.</param>
    /// <param name="patchSize">Patch side p.</param>
    /// <param name="outputChannels">Channels C_out of the prediction.</param>
    public DitFinalLayer(int hiddenSize, int patchSize, int outputChannels) : base(nameof(DitFinalLayer))
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(patchSize);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(outputChannels);
        norm = DitLayers.PlainLayerNorm(hiddenSize);
        linear = DitLayers.ZeroLinear(hiddenSize, patchSize * patchSize * outputChannels);
        modulation = DitLayers.ZeroLinear(hiddenSize, 2 * hiddenSize);
        RegisterComponents();
    }

    /// <summary>The zero-initialised decoder layer (exposed to tests).</summary>
    internal Linear Decoder => linear;

    /// <summary>The zero-initialised adaLN modulation layer (exposed to tests).</summary>
    internal Linear Modulation => modulation;

    /// <summary>Decodes the tokens.</summary>
    /// <param name="x">Tokens <c>[B, T, d]</c>.</param>
    /// <param name="c">Conditioning vectors <c>[B, d]</c>.</param>
    /// <returns>Patches <c>[B, T, p p C_out]</c>; a new tensor.</returns>
    public override Tensor forward(Tensor x, Tensor c)
    {
        using var scope = torch.NewDisposeScope();
        var m = modulation.call(nn.functional.silu(c)).unsqueeze(1).chunk(2, 2);
        return linear.call(DitBlock.Modulate(norm.call(x), m[0], m[1])).MoveToOuterDisposeScope();
    }
}
