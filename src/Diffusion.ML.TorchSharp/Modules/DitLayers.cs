using TorchSharp;
using TorchSharp.Modules;

namespace Diffusion.ML.TorchSharp.Modules;

/// <summary>
/// Layer factories with DiT's initialisation (the reference implementation's <c>initialize_weights</c>; Peebles and Xie
/// 2022, Sec. 3.2 and App. A): xavier-uniform linear layers, zero-initialised adaLN-Zero modulation and output layers,
/// and LayerNorm without affine parameters (eps 1e-6), whose scale and shift come from the conditioning instead.
/// </summary>
internal static class DitLayers
{
    /// <summary>Epsilon of every DiT LayerNorm (reference: <c>eps=1e-6</c>).</summary>
    public const double LayerNormEpsilon = 1e-6;

    /// <summary>A linear layer with a xavier-uniform weight and a zero bias.</summary>
    public static Linear XavierLinear(int inFeatures, int outFeatures)
    {
        var layer = torch.nn.Linear(inFeatures, outFeatures);
        using (torch.no_grad())
        {
            torch.nn.init.xavier_uniform_(layer.weight!);
            layer.bias!.zero_();
        }
        return layer;
    }

    /// <summary>A linear layer whose weight and bias are zero: adaLN-Zero's modulation and the final projection, so that
    /// every block starts as the identity and the network predicts exactly 0 (Sec. 3.2, "adaLN-Zero block").</summary>
    public static Linear ZeroLinear(int inFeatures, int outFeatures)
    {
        var layer = torch.nn.Linear(inFeatures, outFeatures);
        using (torch.no_grad())
        {
            layer.weight!.zero_();
            layer.bias!.zero_();
        }
        return layer;
    }

    /// <summary>LayerNorm over the last axis without learnable scale and shift.</summary>
    public static LayerNorm PlainLayerNorm(int features) => torch.nn.LayerNorm(features, LayerNormEpsilon, elementwise_affine: false);
}
