using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Diffusion.ML.TorchSharp.Modules;

/// <summary>
/// A DiT block with adaLN-Zero conditioning (Peebles and Xie 2022, Sec. 3.2, Fig. 3): from the conditioning vector c,
/// <c>SiLU -&gt; Linear(d, 6d)</c> gives the shift, scale and gate of the attention and of the MLP, and
/// <c>x = x + gate_msa * Attn(modulate(LN(x), shift_msa, scale_msa))</c>,
/// <c>x = x + gate_mlp * MLP(modulate(LN(x), shift_mlp, scale_mlp))</c> with <c>modulate(x) = x (1 + scale) + shift</c>.
/// The modulation layer is zero-initialised, so every gate is 0 and the block is the identity at initialisation.
/// </summary>
public sealed partial class DitBlock : nn.Module<Tensor, Tensor, Tensor>
{
    /// <summary>Number of modulation vectors per block: shift, scale and gate for the attention and for the MLP.</summary>
    public const int ModulationCount = 6;

    private readonly LayerNorm norm1;
    private readonly DitAttention attention;
    private readonly LayerNorm norm2;
    private readonly Linear fc1;
    private readonly Linear fc2;
    private readonly Linear modulation;

    /// <summary>Creates the block.</summary>
    /// <param name="hiddenSize">Token width d (also the width of the conditioning vector).</param>
    /// <param name="heads">Attention heads; must divide <paramref name="hiddenSize"/>.</param>
    /// <param name="mlpHiddenSize">Hidden width of the MLP (the paper: 4d).</param>
    public DitBlock(int hiddenSize, int heads, int mlpHiddenSize) : base(nameof(DitBlock))
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(mlpHiddenSize);
        norm1 = DitLayers.PlainLayerNorm(hiddenSize);
        attention = new DitAttention(hiddenSize, heads);
        norm2 = DitLayers.PlainLayerNorm(hiddenSize);
        fc1 = DitLayers.XavierLinear(hiddenSize, mlpHiddenSize);
        fc2 = DitLayers.XavierLinear(mlpHiddenSize, hiddenSize);
        modulation = DitLayers.ZeroLinear(hiddenSize, ModulationCount * hiddenSize);
        RegisterComponents();
    }

    /// <summary>The zero-initialised adaLN-Zero modulation layer (exposed to tests).</summary>
    internal Linear Modulation => modulation;

    /// <summary>Applies the block.</summary>
    /// <param name="x">Tokens <c>[B, T, d]</c>.</param>
    /// <param name="c">Conditioning vectors <c>[B, d]</c> (timestep plus class embedding).</param>
    /// <returns>Tokens <c>[B, T, d]</c>; a new tensor.</returns>
    public override Tensor forward(Tensor x, Tensor c)
    {
        using var scope = torch.NewDisposeScope();
        var m = modulation.call(nn.functional.silu(c)).unsqueeze(1).chunk(ModulationCount, 2);
        var (shiftMsa, scaleMsa, gateMsa, shiftMlp, scaleMlp, gateMlp) = (m[0], m[1], m[2], m[3], m[4], m[5]);
        var h = Layers.Add(x, gateMsa * attention.call(Modulate(norm1.call(x), shiftMsa, scaleMsa)));
        var mlp = fc2.call(nn.functional.gelu(fc1.call(Modulate(norm2.call(h), shiftMlp, scaleMlp)), GELU.Approximate.tanh));
        return Layers.Add(h, gateMlp * mlp).MoveToOuterDisposeScope();
    }

    /// <summary>adaLN's modulation <c>x (1 + scale) + shift</c> (Peebles and Xie 2022, Sec. 3.2; reference <c>modulate</c>).</summary>
    /// <param name="x">Normalised tokens <c>[B, T, d]</c>.</param>
    /// <param name="shift">Shift <c>[B, 1, d]</c>.</param>
    /// <param name="scale">Scale <c>[B, 1, d]</c>.</param>
    internal static Tensor Modulate(Tensor x, Tensor shift, Tensor scale) => Layers.Add(x * Layers.OnePlus(scale), shift);
}
