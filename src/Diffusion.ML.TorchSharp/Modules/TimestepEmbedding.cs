using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Diffusion.ML.TorchSharp.Modules;

/// <summary>
/// Time conditioning: sinusoidal embedding of the (possibly fractional) timestep, then
/// <c>Linear(sinusoidalDim, embeddingDim) -&gt; SiLU -&gt; Linear(embeddingDim, embeddingDim)</c>.
/// </summary>
public sealed partial class TimestepEmbedding : nn.Module<Tensor, Tensor>
{
    private readonly int sinusoidalDim;
    private readonly Linear linear1;
    private readonly Linear linear2;

    /// <summary>Creates the embedding MLP.</summary>
    /// <param name="sinusoidalDim">Size of the sinusoidal features; must be even.</param>
    /// <param name="embeddingDim">Width of the MLP and of its output.</param>
    public TimestepEmbedding(int sinusoidalDim, int embeddingDim) : base(nameof(TimestepEmbedding))
    {
        if (sinusoidalDim < 2 || sinusoidalDim % 2 != 0)
        {
            throw new ArgumentException($"The sinusoidal dimension must be a positive even number; got {sinusoidalDim}.", nameof(sinusoidalDim));
        }
        if (embeddingDim < 1)
        {
            throw new ArgumentException($"The embedding dimension must be positive; got {embeddingDim}.", nameof(embeddingDim));
        }
        this.sinusoidalDim = sinusoidalDim;
        linear1 = nn.Linear(sinusoidalDim, embeddingDim);
        linear2 = nn.Linear(embeddingDim, embeddingDim);
        RegisterComponents();
    }

    /// <summary>Embeds timesteps <c>[B]</c> (float) into <c>[B, embeddingDim]</c>.</summary>
    /// <param name="t">Timesteps <c>[B]</c>.</param>
    /// <returns>The embedding; a new tensor.</returns>
    public override Tensor forward(Tensor t)
    {
        using var scope = torch.NewDisposeScope();
        var features = Sinusoidal(t, sinusoidalDim);
        return linear2.call(nn.functional.silu(linear1.call(features))).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Transformer/DDPM sinusoidal features: <c>[sin(t * f_i), cos(t * f_i)]</c> with
    /// <c>f_i = maxPeriod^(-i / (dim/2))</c>, <c>i = 0..dim/2-1</c> (first half sines, second half cosines).
    /// </summary>
    /// <param name="t">Timesteps <c>[B]</c>, any floating type or integers; fractional values allowed.</param>
    /// <param name="dim">Number of features; must be even.</param>
    /// <param name="maxPeriod">Longest period, 10000 as in "Attention is all you need".</param>
    /// <returns>float32 <c>[B, dim]</c> on the device of <paramref name="t"/>.</returns>
    public static Tensor Sinusoidal(Tensor t, int dim, double maxPeriod = 10000.0)
    {
        ArgumentNullException.ThrowIfNull(t);
        if (dim < 2 || dim % 2 != 0)
        {
            throw new ArgumentException($"The sinusoidal dimension must be a positive even number; got {dim}.", nameof(dim));
        }
        using var scope = torch.NewDisposeScope();
        var frequencies = SinusoidalFrequencies(dim, maxPeriod, t.device);
        var args = t.to_type(ScalarType.Float32).reshape(-1, 1) * frequencies.unsqueeze(0);
        return torch.cat([args.sin(), args.cos()], 1).MoveToOuterDisposeScope();
    }

    /// <summary>The frequencies <c>f_i = maxPeriod^(-i / (dim/2))</c> of <see cref="Sinusoidal"/>, float32 <c>[dim/2]</c>
    /// (shared with the ONNX export so both compute them identically).</summary>
    internal static Tensor SinusoidalFrequencies(int dim, double maxPeriod = 10000.0, Device? device = null)
    {
        using var scope = torch.NewDisposeScope();
        var half = dim / 2;
        using Scalar rate = (-Math.Log(maxPeriod) / half).ToScalar(); // owned, not left to the finalizer (see Layers.Add)
        var exponents = torch.arange(half, dtype: ScalarType.Float32, device: device).mul(rate);
        return exponents.exp().MoveToOuterDisposeScope();
    }
}
