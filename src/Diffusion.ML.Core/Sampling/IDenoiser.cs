namespace Diffusion.ML.Sampling;

/// <summary>
/// A trained denoising network seen from the samplers: a batch of noisy samples and their timesteps in, one prediction per
/// element out. Every backend implements it (TorchSharp, ONNX Runtime, or a user's function via <see cref="DelegateDenoiser"/>),
/// so every sampler works with every backend. Tensors are flattened row-major batches of <see cref="SampleShape"/>.
/// </summary>
public interface IDenoiser
{
    /// <summary>Shape of one sample, e.g. [1, 28, 28] for a grey 28x28 image or [2] for 2-D points.</summary>
    IReadOnlyList<int> SampleShape { get; }

    /// <summary>What <see cref="Predict"/> returns.</summary>
    PredictionType PredictionType { get; }

    /// <summary>Number of classes the model is conditioned on; 0 for an unconditional model. Label <c>ClassCount</c> is the null class used for classifier-free guidance.</summary>
    int ClassCount { get; }

    /// <summary>Evaluates the network on a batch.</summary>
    /// <param name="x">Noisy samples x_t, batch x prod(SampleShape) values.</param>
    /// <param name="timesteps">One training timestep per sample, in [0, T); its length is the batch size.</param>
    /// <param name="classLabels">One label per sample in [0, ClassCount] (ClassCount = null class), or empty for an unconditional model.</param>
    /// <param name="output">Receives the prediction, same length as <paramref name="x"/>; twice that length when
    /// <see cref="LearnsVariance"/>: per sample, the prediction followed by its variance values.</param>
    void Predict(ReadOnlySpan<float> x, ReadOnlySpan<float> timesteps, ReadOnlySpan<int> classLabels, Span<float> output);

    /// <summary>
    /// Whether the model also outputs, per element, the variance value v in [-1, 1] of Nichol and Dhariwal (2021, eq. 15):
    /// the reverse-step variance is exp(f log beta_t + (1 - f) log beta-tilde_t) with f = (v + 1) / 2. Such models write
    /// twice the values into <see cref="Predict"/>'s output. Default false.
    /// </summary>
    bool LearnsVariance => false;
}
