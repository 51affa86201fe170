using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Diffusion.ML.TorchSharp.Modules;

/// <summary>
/// A small noise conditional score network s(x, sigma) for vectors <c>[B, D]</c> (2-D toy data), in the parameterisation
/// s(x, sigma) = f(c_in x, ln sigma) / sigma:
/// <list type="bullet">
/// <item>the division by sigma is NCSNv2's (Song and Ermon 2020, sec. 3.3, technique 3): the true score of noised data
/// has norm about sqrt(D) / sigma, so f stays of unit size at every level and the loss of eq. 6 with lambda = sigma^2 becomes
/// 1/2 |f + z|^2;</item>
/// <item>c_in = 1 / sqrt(sigma^2 + sigma_data^2) is EDM's input scaling (Karras et al. 2022, Table 1), optional;</item>
/// <item>f is an MLP <c>h = SiLU(Linear(h) + e)</c> where e embeds c = scale * ln sigma through the DDPM sinusoidal embedding
/// (<see cref="TimestepEmbedding"/>), as the continuous-noise NCSN++ of Song et al. 2021 conditions on log sigma; with
/// <see cref="NoiseConditionalScoreMlpOptions.ConditionOnSigma"/> off, e = 0 and f is NCSNv2's unconditional network.</item>
/// </list>
/// The output layer is zero-initialised, so a fresh network has score 0 (and loss D/2).
/// </summary>
public sealed class NoiseConditionalScoreMlp : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly TimestepEmbedding? noiseEmbedding;
    private readonly ModuleList<Linear> hidden;
    private readonly Linear output;

    /// <summary>Builds the network.</summary>
    /// <param name="options">Architecture; null means the defaults (2-D input, 3 hidden layers of 128, sigma embedding, input scaling).</param>
    /// <exception cref="ArgumentException">The options are invalid.</exception>
    public NoiseConditionalScoreMlp(NoiseConditionalScoreMlpOptions? options = null) : base(nameof(NoiseConditionalScoreMlp))
    {
        TorchSharpRuntime.EnsureLoaded();
        Options = options ?? new NoiseConditionalScoreMlpOptions();
        Options.Validate();
        int width = Options.HiddenWidth;
        noiseEmbedding = Options.ConditionOnSigma ? new TimestepEmbedding(width, width) : null;
        var layers = new Linear[Options.HiddenLayers];
        for (int i = 0; i < layers.Length; i++) layers[i] = nn.Linear(i == 0 ? Options.InputDim : width, width);
        hidden = nn.ModuleList(layers);
        output = nn.Linear(width, Options.InputDim);
        using (torch.no_grad())
        {
            output.weight!.zero_();
            output.bias!.zero_();
        }
        RegisterComponents();
    }

    /// <summary>The (validated) architecture options.</summary>
    public NoiseConditionalScoreMlpOptions Options { get; }

    /// <summary>Shape of one sample without the batch dimension: <c>[InputDim]</c>.</summary>
    public long[] SampleShape => [Options.InputDim];

    /// <summary>Total number of scalar parameters (trainable weights and biases).</summary>
    public long ParameterCount => parameters().Sum(p => p.numel());

    /// <summary>Estimates the score of the data noised at level sigma.</summary>
    /// <param name="x">Noisy points, float32 <c>[B, InputDim]</c>.</param>
    /// <param name="sigma">Noise levels, float32 <c>[B]</c> (one per point, positive) or a scalar for the whole batch.</param>
    /// <returns>s(x, sigma), <c>[B, InputDim]</c>; a new tensor.</returns>
    public override Tensor forward(Tensor x, Tensor sigma)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(sigma);
        if (x.dim() != 2 || x.shape[1] != Options.InputDim)
            throw new ArgumentException($"Expected points [B, {Options.InputDim}]; got [{string.Join(", ", x.shape)}].", nameof(x));
        long batch = x.shape[0];
        using var scope = torch.NewDisposeScope();
        var s = sigma.to_type(ScalarType.Float32);
        if (s.dim() == 0) s = s.expand(batch);
        else if (s.dim() != 1 || s.shape[0] != batch)
            throw new ArgumentException($"Noise levels must have shape [{batch}] (one per point) or be a scalar; got [{string.Join(", ", sigma.shape)}].", nameof(sigma));
        s = s.reshape(batch, 1);

        var h = Options.ScaleInput
            ? x * (s.square() + Options.DataStandardDeviation * Options.DataStandardDeviation).rsqrt() // c_in = 1 / sqrt(sigma^2 + sigma_data^2)
            : x;
        var embedding = noiseEmbedding?.call(s.log().reshape(batch) * Options.NoiseEmbeddingScale); // c_noise = scale * ln sigma
        foreach (var layer in hidden)
        {
            var pre = layer.call(h);
            h = nn.functional.silu(embedding is null ? pre : Layers.Add(pre, embedding));
        }
        return (output.call(h) / s).MoveToOuterDisposeScope(); // s(x, sigma) = f(x, sigma) / sigma (NCSNv2)
    }
}
