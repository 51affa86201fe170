using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Diffusion.ML.TorchSharp.Modules;

/// <summary>
/// Small MLP noise predictor for vectors <c>[B, D]</c> (2-D toy distributions). The conditioning embedding
/// <c>e = TimestepEmbedding(t) (+ classEmbedding(label))</c>, of width <see cref="MlpDenoiserOptions.HiddenWidth"/>,
/// is added before the activation of every hidden layer: <c>h = SiLU(Linear(h) + e)</c>; a final Linear maps back
/// to D. The output layer is zero-initialised, so a fresh network predicts exactly 0.
/// </summary>
public sealed partial class MlpDenoiser : DenoiserNetwork
{
    /// <summary>Value of <see cref="Kind"/> for MLP denoisers.</summary>
    public const string KindName = "mlp";

    private readonly TimestepEmbedding timeEmbedding;
    private readonly Embedding? classEmbedding;
    private readonly ModuleList<Linear> hidden;
    private readonly Linear output;

    /// <summary>Builds the network.</summary>
    /// <param name="options">Architecture; null means the defaults (2-D input, 3 hidden layers of 128).</param>
    /// <exception cref="ArgumentException">The options are invalid.</exception>
    public MlpDenoiser(MlpDenoiserOptions? options = null) : base(nameof(MlpDenoiser))
    {
        Options = options ?? new MlpDenoiserOptions();
        Options.Validate();
        var width = Options.HiddenWidth;
        timeEmbedding = new TimestepEmbedding(width, width);
        classEmbedding = Options.ClassCount > 0 ? nn.Embedding(Options.ClassCount + 1, width) : null;
        var layers = new Linear[Options.HiddenLayers];
        for (var i = 0; i < layers.Length; i++)
        {
            layers[i] = nn.Linear(i == 0 ? Options.InputDim : width, width);
        }
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
    public MlpDenoiserOptions Options { get; }

    /// <inheritdoc/>
    public override int ClassCount => Options.ClassCount;

    /// <inheritdoc/>
    public override long[] SampleShape => [Options.InputDim];

    /// <inheritdoc/>
    public override string Kind => KindName;

    /// <inheritdoc/>
    public override string ConfigJson => Options.ToJson();

    /// <summary>The zero-initialised output layer (exposed to tests).</summary>
    internal Linear OutputLayer => output;

    /// <summary>Predicts the noise.</summary>
    /// <param name="x">Noisy points, float32 <c>[B, InputDim]</c>.</param>
    /// <param name="t">Timesteps, float32 <c>[B]</c> (fractional allowed) or a scalar.</param>
    /// <param name="classLabels">int64 <c>[B]</c> in <c>0..ClassCount</c> (<c>ClassCount</c> = null class), or null;
    /// must be null for unconditional networks.</param>
    /// <returns><c>[B, InputDim]</c>; a new tensor.</returns>
    public override Tensor forward(Tensor x, Tensor t, Tensor? classLabels)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.dim() != 2 || x.shape[1] != Options.InputDim)
        {
            throw new ArgumentException(
                $"Expected points [B, {Options.InputDim}]; got [{string.Join(", ", x.shape)}].", nameof(x));
        }

        using var scope = torch.NewDisposeScope();
        var batch = x.shape[0];
        var embedding = ConditioningEmbedding(timeEmbedding, classEmbedding, t, classLabels, batch, x.device);

        var h = x;
        foreach (var layer in hidden)
        {
            h = nn.functional.silu(Layers.Add(layer.call(h), embedding));
        }
        return output.call(h).MoveToOuterDisposeScope();
    }
}
