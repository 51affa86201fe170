namespace Diffusion.ML.Data;

/// <summary>A low-dimensional synthetic distribution with a sampler and a known log density, for testing generative models.</summary>
public interface IToyDistribution
{
    /// <summary>Dimension of one sample.</summary>
    int Dimension { get; }

    /// <summary>Draws <paramref name="count"/> independent samples into <paramref name="destination"/>, row-major count x Dimension.</summary>
    /// <param name="random">The random source; seed it for reproducible samples.</param>
    /// <param name="destination">Receives the samples; must hold at least count * Dimension floats.</param>
    /// <param name="count">Number of samples.</param>
    void Sample(Random random, Span<float> destination, int count);

    /// <summary>Natural log of the probability density at <paramref name="x"/> (length Dimension).</summary>
    double LogDensity(ReadOnlySpan<double> x);
}
