namespace Diffusion.ML.Sampling;

/// <summary>
/// A model that learns its variance (<see cref="IDenoiser.LearnsVariance"/>) seen without its variance values, for code
/// that needs only the mean prediction (the probability-flow ODE, for instance).
/// </summary>
public sealed class PredictionOnlyDenoiser : IDenoiser
{
    private readonly IDenoiser _inner;
    private float[] _scratch = [];

    /// <summary>Wraps a model that learns its variance.</summary>
    /// <exception cref="ArgumentException">The model outputs no variance values.</exception>
    public PredictionOnlyDenoiser(IDenoiser inner)
    {
        _inner = inner ?? throw new ArgumentNullException(nameof(inner));
        if (!inner.LearnsVariance) throw new ArgumentException("The model outputs no variance values; use it directly.", nameof(inner));
    }

    /// <summary>The model itself, or this view of it when it learns its variance.</summary>
    public static IDenoiser Of(IDenoiser denoiser) =>
        (denoiser ?? throw new ArgumentNullException(nameof(denoiser))).LearnsVariance ? new PredictionOnlyDenoiser(denoiser) : denoiser;

    /// <inheritdoc />
    public IReadOnlyList<int> SampleShape => _inner.SampleShape;

    /// <inheritdoc />
    public PredictionType PredictionType => _inner.PredictionType;

    /// <inheritdoc />
    public int ClassCount => _inner.ClassCount;

    /// <inheritdoc />
    /// <remarks>Not safe for concurrent calls (one scratch buffer).</remarks>
    public void Predict(ReadOnlySpan<float> x, ReadOnlySpan<float> timesteps, ReadOnlySpan<int> classLabels, Span<float> output)
    {
        if (_scratch.Length != 2 * x.Length) _scratch = new float[2 * x.Length];
        _inner.Predict(x, timesteps, classLabels, _scratch);
        int d = x.Length / Math.Max(timesteps.Length, 1);
        for (int b = 0; b < timesteps.Length; b++) _scratch.AsSpan(2 * b * d, d).CopyTo(output.Slice(b * d, d)); // row: prediction, then v
    }
}
