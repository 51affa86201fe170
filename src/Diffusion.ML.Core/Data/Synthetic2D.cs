namespace Diffusion.ML.Data;

/// <summary>Helpers for the synthetic data sets (<see cref="GaussianMixture"/>, <see cref="TwoMoons"/>, <see cref="SwissRoll"/>).</summary>
public static class Synthetic2D
{
    /// <summary>Draws <paramref name="count"/> samples with <c>new Random(seed)</c> and returns them row-major, count x Dimension.</summary>
    public static float[] Sample(this IToyDistribution distribution, int count, int seed)
    {
        ArgumentNullException.ThrowIfNull(distribution);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        float[] samples = new float[checked(count * distribution.Dimension)];
        distribution.Sample(new Random(seed), samples, count);
        return samples;
    }
}
