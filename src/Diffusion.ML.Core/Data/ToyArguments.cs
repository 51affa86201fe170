namespace Diffusion.ML.Data;

/// <summary>Argument checks shared by the <see cref="IToyDistribution"/> implementations.</summary>
internal static class ToyArguments
{
    /// <summary>Checks the arguments of <see cref="IToyDistribution.Sample"/>.</summary>
    public static void CheckSample(Random random, Span<float> destination, int count, int dimension)
    {
        ArgumentNullException.ThrowIfNull(random);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (destination.Length < (long)count * dimension)
        {
            throw new ArgumentException(
                $"Destination holds {destination.Length} floats but {count} samples of dimension {dimension} need {(long)count * dimension}.",
                nameof(destination));
        }
    }

    /// <summary>Checks that a density argument has the distribution's dimension.</summary>
    public static void CheckPoint(ReadOnlySpan<double> x, int dimension)
    {
        if (x.Length != dimension)
        {
            throw new ArgumentException($"The point has {x.Length} coordinates but the distribution has dimension {dimension}.", nameof(x));
        }
    }

    /// <summary>Checks that a noise standard deviation is positive and finite.</summary>
    public static void CheckNoise(double noise, string parameterName)
    {
        if (!(noise > 0) || !double.IsFinite(noise))
        {
            throw new ArgumentOutOfRangeException(parameterName, noise, "The noise standard deviation must be positive and finite (the density is singular at 0).");
        }
    }
}
