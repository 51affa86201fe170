using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Diffusion.ML.TorchSharp.Modules;

/// <summary>
/// Base class of the noise-prediction networks (UNet, MLP, DiT) so that trainers, samplers and checkpoints
/// can treat them alike. Forward signature: <c>(x, t, classLabels) -&gt; prediction</c> with the prediction
/// shaped like <c>x</c> (or with twice the channels when a network learns the variance).
/// </summary>
public abstract partial class DenoiserNetwork : nn.Module<Tensor, Tensor, Tensor?, Tensor>
{
    /// <summary>Creates the base module with the given TorchSharp module name.</summary>
    /// <param name="name">Module name, used by TorchSharp for state-dict bookkeeping.</param>
    protected DenoiserNetwork(string name) : base(name)
    {
    }

    /// <summary>
    /// Number of real classes; 0 for an unconditional network. When positive, labels range over
    /// <c>0..ClassCount-1</c> and the index <see cref="ClassCount"/> itself is the null class used for
    /// classifier-free guidance.
    /// </summary>
    public abstract int ClassCount { get; }

    /// <summary>
    /// Whether the network outputs twice the channels: the prediction, then the variance values v in [-1, 1] of Nichol and
    /// Dhariwal (2021, eq. 15) (trained by the hybrid loss of <see cref="Training.DdpmTrainer"/>). Default false.
    /// </summary>
    public virtual bool LearnsVariance => false;

    /// <summary>Shape of one sample without the batch dimension, e.g. <c>[1, 28, 28]</c> or <c>[2]</c>.</summary>
    public abstract long[] SampleShape { get; }

    /// <summary>Network kind stored in checkpoints and accepted by <see cref="Create"/> ("unet", "mlp" or "dit").</summary>
    public abstract string Kind { get; }

    /// <summary>The network's options as JSON; <see cref="Create"/> rebuilds an identical architecture from it.</summary>
    public abstract string ConfigJson { get; }

    /// <summary>Total number of scalar parameters (trainable weights and biases).</summary>
    public long ParameterCount => parameters().Sum(p => p.numel());

    /// <summary>
    /// Runs the network (same as <c>call</c>): predicts the noise for noisy samples <paramref name="x"/>
    /// at timesteps <paramref name="t"/>.
    /// </summary>
    /// <param name="x">Noisy samples, float32 <c>[B, ...SampleShape]</c>.</param>
    /// <param name="t">Timesteps, float32 <c>[B]</c> (fractional values allowed) or a scalar applied to the whole batch.</param>
    /// <param name="classLabels">int64 <c>[B]</c> labels in <c>0..ClassCount</c> (<c>ClassCount</c> = null class),
    /// or null (conditional networks then use the null class).</param>
    /// <returns>The prediction, a new tensor the caller owns.</returns>
    public Tensor Predict(Tensor x, Tensor t, Tensor? classLabels = null) => call(x, t, classLabels);

    /// <summary>Rebuilds a network from the kind and config JSON stored in a checkpoint (weights are freshly initialised).</summary>
    /// <param name="kind">"unet", "mlp" or "dit" (case-insensitive), as reported by <see cref="Kind"/>.</param>
    /// <param name="configJson">JSON as produced by <see cref="ConfigJson"/>.</param>
    /// <returns>A new network with the stored architecture.</returns>
    /// <exception cref="ArgumentException">Unknown kind or invalid configuration.</exception>
    public static DenoiserNetwork Create(string kind, string configJson)
    {
        ArgumentNullException.ThrowIfNull(kind);
        return kind.ToLowerInvariant() switch
        {
            UNet.KindName => new UNet(UNetOptions.FromJson(configJson)),
            MlpDenoiser.KindName => new MlpDenoiser(MlpDenoiserOptions.FromJson(configJson)),
            Dit.KindName => new Dit(DitOptions.FromJson(configJson)),
            _ => throw new ArgumentException(
                $"Unknown denoiser kind '{kind}'; expected '{UNet.KindName}', '{MlpDenoiser.KindName}' or '{Dit.KindName}'.", nameof(kind)),
        };
    }

    /// <summary>
    /// The conditioning vector of a batch: the time embedding of <paramref name="t"/>, plus the class embedding of the
    /// labels when the network is class-conditional (null labels become the null class). Belongs to the current dispose scope.
    /// </summary>
    private protected Tensor ConditioningEmbedding(TimestepEmbedding time, Embedding? classes, Tensor t, Tensor? classLabels, long batch, Device device)
    {
        var embedding = time.call(PrepareTimesteps(t, batch));
        var labels = PrepareLabels(classLabels, batch, device);
        return classes is not null && labels is not null ? Layers.Add(embedding, classes.call(labels)) : embedding;
    }

    /// <summary>
    /// Brings timesteps to float32 <c>[B]</c>: a scalar is broadcast to the batch, other shapes must be <c>[B]</c>.
    /// The returned tensor belongs to the current dispose scope.
    /// </summary>
    private protected static Tensor PrepareTimesteps(Tensor t, long batch)
    {
        ArgumentNullException.ThrowIfNull(t);
        var tf = t.to_type(ScalarType.Float32);
        if (tf.dim() == 0)
        {
            return tf.expand(batch);
        }
        if (tf.dim() != 1 || tf.shape[0] != batch)
        {
            throw new ArgumentException(
                $"Timesteps must have shape [{batch}] (one per sample) or be a scalar; got [{string.Join(", ", t.shape)}].",
                nameof(t));
        }
        return tf;
    }

    /// <summary>
    /// Checks class labels against the network's class count and returns int64 labels <c>[B]</c>;
    /// null labels on a conditional network become the null class. Returns null for unconditional networks.
    /// </summary>
    private protected Tensor? PrepareLabels(Tensor? classLabels, long batch, Device device)
    {
        if (ClassCount == 0)
        {
            if (classLabels is not null)
            {
                throw new ArgumentException(
                    "Class labels were given, but the network is unconditional (ClassCount = 0).", nameof(classLabels));
            }
            return null;
        }
        if (classLabels is null)
        {
            using Scalar nullClass = ClassCount.ToScalar(); // owned, not left to the finalizer (see Layers.Add)
            return torch.full(batch, nullClass, dtype: ScalarType.Int64, device: device);
        }
        if (classLabels.dim() != 1 || classLabels.shape[0] != batch)
        {
            throw new ArgumentException(
                $"Class labels must have shape [{batch}]; got [{string.Join(", ", classLabels.shape)}].", nameof(classLabels));
        }
        return classLabels.to_type(ScalarType.Int64);
    }
}
