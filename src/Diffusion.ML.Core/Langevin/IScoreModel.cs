namespace Diffusion.ML.Langevin;

/// <summary>
/// A noise conditional score model s(x, sigma) ~ grad_x log q_sigma(x), the score of the data convolved with N(0, sigma^2 I)
/// (Song and Ermon 2019, sec. 4.1), seen from the Langevin samplers. Tensors are flattened row-major batches of
/// <see cref="SampleShape"/>.
/// </summary>
/// <remarks>
/// The model receives each sample's noise level as a value, not as an index into <see cref="NoiseLevels"/>: a model
/// conditioned on sigma itself (NCSNv2's s(x)/sigma, continuous-noise networks, closed forms such as
/// <see cref="NoisedGaussianMixtureScore"/>) then works with any set of levels, and a network conditioned on a level index
/// finds it with <see cref="NoiseLevels.NearestIndex"/>. The score is a separate interface from
/// <see cref="Sampling.IDenoiser"/> because it is defined on the variance-exploding perturbation x + sigma z rather than on a
/// variance-preserving schedule's timesteps.
/// </remarks>
public interface IScoreModel
{
    /// <summary>Shape of one sample, e.g. [2] for 2-D points or [1, 28, 28] for a grey 28x28 image.</summary>
    IReadOnlyList<int> SampleShape { get; }

    /// <summary>Evaluates the score on a batch.</summary>
    /// <param name="x">Samples, batch x prod(SampleShape) values.</param>
    /// <param name="sigmas">One noise level per sample; its length is the batch size.</param>
    /// <param name="output">Receives s(x, sigma), same length as <paramref name="x"/>.</param>
    void Score(ReadOnlySpan<float> x, ReadOnlySpan<float> sigmas, Span<float> output);
}

/// <summary>The signature of a user function that acts as a score model; see <see cref="IScoreModel.Score"/> for the arguments.</summary>
public delegate void ScoreFunction(ReadOnlySpan<float> x, ReadOnlySpan<float> sigmas, Span<float> output);

/// <summary>Wraps a user function as an <see cref="IScoreModel"/>, so any model or closed form can drive the Langevin samplers.</summary>
public sealed class DelegateScoreModel : IScoreModel
{
    private readonly ScoreFunction _function;

    /// <summary>Creates a score model from a function.</summary>
    /// <param name="sampleShape">Shape of one sample; non-empty with positive sizes.</param>
    /// <param name="function">The function.</param>
    public DelegateScoreModel(IReadOnlyList<int> sampleShape, ScoreFunction function)
    {
        ArgumentNullException.ThrowIfNull(sampleShape);
        if (sampleShape.Count == 0 || sampleShape.Any(d => d <= 0))
            throw new ArgumentException($"Sample shape must be non-empty with positive sizes, got [{string.Join(", ", sampleShape)}].", nameof(sampleShape));
        SampleShape = sampleShape.ToArray();
        _function = function ?? throw new ArgumentNullException(nameof(function));
    }

    /// <inheritdoc />
    public IReadOnlyList<int> SampleShape { get; }

    /// <inheritdoc />
    public void Score(ReadOnlySpan<float> x, ReadOnlySpan<float> sigmas, Span<float> output) => _function(x, sigmas, output);
}
