namespace Diffusion.ML.Data;

/// <summary>
/// The two interleaving half circles of scikit-learn's make_moons: with probability 1/2 the upper moon (cos t, sin t),
/// otherwise the lower moon (1 - cos t, 0.5 - sin t), with t uniform on [0, pi], plus isotropic Gaussian noise.
/// </summary>
/// <remarks>
/// <see cref="LogDensity"/> is the exact density of this process up to quadrature error: the integral over t is taken
/// with the two-point Gauss-Legendre rule on a fixed grid of panels at most noise/8 long along the curve
/// (relative error below 1e-6 within 2 noise standard deviations of the curve, below 1e-4 within 5).
/// </remarks>
public sealed class TwoMoons : IToyDistribution
{
    private readonly NoisyCurveDensity density;

    /// <summary>Creates the distribution.</summary>
    /// <param name="noise">Standard deviation of the Gaussian noise per coordinate; must be positive.</param>
    public TwoMoons(double noise = 0.1)
    {
        ToyArguments.CheckNoise(noise, nameof(noise));
        Noise = noise;
        density = new NoisyCurveDensity([u => Upper(Math.PI * u), u => Lower(Math.PI * u)], lengthBound: Math.PI, noise);
    }

    /// <summary>Standard deviation of the Gaussian noise per coordinate.</summary>
    public double Noise { get; }

    /// <inheritdoc />
    public int Dimension => 2;

    /// <inheritdoc />
    public void Sample(Random random, Span<float> destination, int count)
    {
        ToyArguments.CheckSample(random, destination, count, Dimension);
        for (int i = 0; i < count; i++)
        {
            bool upper = random.Next(2) == 0;
            double t = Math.PI * random.NextDouble();
            (double x, double y) = upper ? Upper(t) : Lower(t);
            destination[2 * i] = (float)(x + (Noise * NormalRandom.Next(random)));
            destination[(2 * i) + 1] = (float)(y + (Noise * NormalRandom.Next(random)));
        }
    }

    /// <inheritdoc />
    public double LogDensity(ReadOnlySpan<double> x)
    {
        ToyArguments.CheckPoint(x, Dimension);
        return density.LogDensity(x[0], x[1]);
    }

    private static (double X, double Y) Upper(double t) => (Math.Cos(t), Math.Sin(t));

    private static (double X, double Y) Lower(double t) => (1.0 - Math.Cos(t), 0.5 - Math.Sin(t));
}
