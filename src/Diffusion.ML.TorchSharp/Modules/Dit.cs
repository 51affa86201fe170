using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Diffusion.ML.TorchSharp.Modules;

/// <summary>
/// Diffusion Transformer (Peebles and Xie 2022, "Scalable Diffusion Models with Transformers", Sec. 3.2, Fig. 3): the image
/// is patchified into T = (H/p)(W/p) tokens plus a fixed 2-D sin-cos position embedding; the conditioning
/// <c>c = TimestepEmbedding(t) (+ classEmbedding(label))</c> drives N adaLN-Zero <see cref="DitBlock"/>s; a
/// <see cref="DitFinalLayer"/> decodes every token into its patch and the patches are put back into an image
/// ("unpatchify"). All modulation layers and the decoder are zero-initialised, so a fresh network predicts exactly 0.
/// </summary>
/// <remarks>
/// Initialisation follows the reference implementation: xavier-uniform linear layers, the patch embedding like a linear
/// layer, normal(0, 0.02) timestep-MLP and class-embedding weights. The timestep features are <see cref="TimestepEmbedding"/>'s
/// <c>[sin, cos]</c>; the reference orders them <c>[cos, sin]</c>, a permutation of the first linear layer's inputs.
/// </remarks>
public sealed partial class Dit : DenoiserNetwork
{
    /// <summary>Value of <see cref="Kind"/> for DiTs.</summary>
    public const string KindName = "dit";

    /// <summary>Standard deviation of the timestep-MLP and class-embedding weights at initialisation (reference: 0.02).</summary>
    public const double EmbeddingInitStd = 0.02;

    private readonly PatchEmbedding patchEmbedding;
    private readonly Tensor positionEmbedding;
    private readonly TimestepEmbedding timeEmbedding;
    private readonly Embedding? classEmbedding;
    private readonly ModuleList<DitBlock> blocks;
    private readonly DitFinalLayer finalLayer;

    /// <summary>Builds the network.</summary>
    /// <param name="options">Architecture; null means the defaults (DiT-S/2 for 28x28x1 images).</param>
    /// <exception cref="ArgumentException">The options are invalid.</exception>
    public Dit(DitOptions? options = null) : base(nameof(Dit))
    {
        Options = options ?? new DitOptions();
        Options.Validate();
        var o = Options;
        var d = o.HiddenSize;

        patchEmbedding = new PatchEmbedding(o.ImageChannels, o.PatchSize, d);
        // A buffer, not a parameter: the sin-cos embedding is fixed (reference: requires_grad=False).
        positionEmbedding = DitPositionEmbedding.Create(d, o.GridHeight, o.GridWidth).unsqueeze(0);
        timeEmbedding = new TimestepEmbedding(o.FrequencyEmbeddingSize, d);
        classEmbedding = o.ClassCount > 0 ? nn.Embedding(o.ClassCount + 1, d) : null;
        var blockList = new DitBlock[o.Depth];
        for (var i = 0; i < blockList.Length; i++)
        {
            blockList[i] = new DitBlock(d, o.Heads, o.MlpHiddenSize);
        }
        blocks = nn.ModuleList(blockList);
        finalLayer = new DitFinalLayer(d, o.PatchSize, o.OutputChannels);

        using (torch.no_grad())
        {
            foreach (var p in timeEmbedding.parameters())
            {
                if (p.dim() == 2)
                {
                    p.normal_(0, EmbeddingInitStd);
                }
                else
                {
                    p.zero_();
                }
            }
            classEmbedding?.weight!.normal_(0, EmbeddingInitStd);
        }
        RegisterComponents();
    }

    /// <summary>The (validated) architecture options.</summary>
    public DitOptions Options { get; }

    /// <inheritdoc/>
    public override int ClassCount => Options.ClassCount;

    /// <inheritdoc />
    public override bool LearnsVariance => Options.LearnSigma;

    /// <inheritdoc/>
    public override long[] SampleShape => [Options.ImageChannels, Options.ImageHeight, Options.ImageWidth];

    /// <inheritdoc/>
    public override string Kind => KindName;

    /// <inheritdoc/>
    public override string ConfigJson => Options.ToJson();

    /// <summary>The blocks (exposed to tests).</summary>
    internal IReadOnlyList<DitBlock> Blocks => [.. blocks];

    /// <summary>The output layer (exposed to tests).</summary>
    internal DitFinalLayer FinalLayer => finalLayer;

    /// <summary>The patch embedding (exposed to tests).</summary>
    internal PatchEmbedding Patches => patchEmbedding;

    /// <summary>The position embedding buffer <c>[1, T, d]</c> (exposed to tests).</summary>
    internal Tensor PositionEmbedding => positionEmbedding;

    /// <summary>The conditioning vector c of a batch (exposed to tests).</summary>
    internal Tensor Conditioning(Tensor t, Tensor? classLabels, long batch, Device device)
        => ConditioningEmbedding(timeEmbedding, classEmbedding, t, classLabels, batch, device);

    /// <summary>Predicts the noise (and the variance interpolation when <see cref="DitOptions.LearnSigma"/>).</summary>
    /// <param name="x">Noisy images, float32 <c>[B, ImageChannels, ImageHeight, ImageWidth]</c> (the position embedding fixes
    /// the size).</param>
    /// <param name="t">Timesteps, float32 <c>[B]</c> (fractional allowed) or a scalar.</param>
    /// <param name="classLabels">int64 <c>[B]</c> in <c>0..ClassCount</c> (<c>ClassCount</c> = null class), or null;
    /// must be null for unconditional networks.</param>
    /// <returns><c>[B, OutputChannels, ImageHeight, ImageWidth]</c>; a new tensor.</returns>
    public override Tensor forward(Tensor x, Tensor t, Tensor? classLabels)
    {
        ArgumentNullException.ThrowIfNull(x);
        var o = Options;
        if (x.dim() != 4 || x.shape[1] != o.ImageChannels || x.shape[2] != o.ImageHeight || x.shape[3] != o.ImageWidth)
        {
            throw new ArgumentException(
                $"Expected images [B, {o.ImageChannels}, {o.ImageHeight}, {o.ImageWidth}] (a DiT's position embedding fixes the image size); "
                + $"got [{string.Join(", ", x.shape)}]. Resize the images or build the DiT for their size.", nameof(x));
        }

        using var scope = torch.NewDisposeScope();
        var batch = x.shape[0];
        var c = ConditioningEmbedding(timeEmbedding, classEmbedding, t, classLabels, batch, x.device);
        var h = Layers.Add(patchEmbedding.call(x), positionEmbedding);
        foreach (var block in blocks)
        {
            h = block.call(h, c);
        }
        var output = Unpatchify(finalLayer.call(h, c), o.PatchSize, o.OutputChannels, o.GridHeight, o.GridWidth);
        return output.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The reference's <c>unpatchify</c>: token <c>i * columns + j</c> holds the p x p x C patch at rows <c>i p..i p + p - 1</c>,
    /// columns <c>j p..j p + p - 1</c>, ordered (row in patch, column in patch, channel):
    /// <c>[B, T, p p C] -&gt; [B, rows, columns, p, p, C] -&gt; [B, C, rows p, columns p]</c>.
    /// </summary>
    /// <param name="tokens">Patches <c>[B, rows * columns, p p C]</c>.</param>
    /// <param name="patchSize">p.</param>
    /// <param name="channels">C.</param>
    /// <param name="rows">Rows of the token grid.</param>
    /// <param name="columns">Columns of the token grid.</param>
    /// <returns>Images <c>[B, C, rows p, columns p]</c>.</returns>
    internal static Tensor Unpatchify(Tensor tokens, int patchSize, int channels, int rows, int columns)
        => tokens.reshape(tokens.shape[0], rows, columns, patchSize, patchSize, channels)
            .permute(0, 5, 1, 3, 2, 4)
            .reshape(tokens.shape[0], channels, rows * patchSize, columns * patchSize);
}
