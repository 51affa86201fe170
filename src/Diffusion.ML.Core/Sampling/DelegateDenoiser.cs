namespace Diffusion.ML.Sampling;

/// <summary>The signature of a user function that acts as a denoiser; see <see cref="IDenoiser.Predict"/> for the arguments.</summary>
public delegate void DenoiserFunction(ReadOnlySpan<float> x, ReadOnlySpan<float> timesteps, ReadOnlySpan<int> classLabels, Span<float> output);

/// <summary>Wraps a user function as an <see cref="IDenoiser"/>, so any model or closed form can drive the samplers.</summary>
public sealed class DelegateDenoiser : IDenoiser
{
    private readonly DenoiserFunction _function;

    /// <summary>Creates a denoiser from a function.</summary>
    /// <param name="sampleShape">Shape of one sample.</param>
    /// <param name="predictionType">What the function returns.</param>
    /// <param name="function">The function.</param>
    /// <param name="classCount">Number of classes (0 = unconditional).</param>
    /// <param name="learnsVariance">Whether the function also writes variance values (see <see cref="IDenoiser.LearnsVariance"/>).</param>
    public DelegateDenoiser(IReadOnlyList<int> sampleShape, PredictionType predictionType, DenoiserFunction function, int classCount = 0,
        bool learnsVariance = false)
    {
        ArgumentNullException.ThrowIfNull(sampleShape);
        if (sampleShape.Count == 0 || sampleShape.Any(d => d <= 0))
            throw new ArgumentException($"Sample shape must be non-empty with positive sizes, got [{string.Join(", ", sampleShape)}].", nameof(sampleShape));
        ArgumentOutOfRangeException.ThrowIfNegative(classCount);
        SampleShape = sampleShape.ToArray();
        PredictionType = predictionType;
        _function = function ?? throw new ArgumentNullException(nameof(function));
        ClassCount = classCount;
        LearnsVariance = learnsVariance;
    }

    /// <inheritdoc />
    public IReadOnlyList<int> SampleShape { get; }

    /// <inheritdoc />
    public PredictionType PredictionType { get; }

    /// <inheritdoc />
    public int ClassCount { get; }

    /// <inheritdoc />
    public bool LearnsVariance { get; }

    /// <inheritdoc />
    public void Predict(ReadOnlySpan<float> x, ReadOnlySpan<float> timesteps, ReadOnlySpan<int> classLabels, Span<float> output)
        => _function(x, timesteps, classLabels, output);
}
