namespace Diffusion.ML.Data;

/// <summary>A mixture of isotropic Gaussians sharing one standard deviation, with exact log density.</summary>
public sealed class GaussianMixture : IToyDistribution
{
    private readonly double[][] means;
    private readonly double[] weights;
    private readonly double[] cumulativeWeights;
    private readonly double[] logWeights;

    /// <summary>Creates the mixture sum_k w_k N(means[k], std^2 I).</summary>
    /// <param name="means">Component means, all of the same length (the dimension).</param>
    /// <param name="standardDeviation">Standard deviation of every component, per coordinate.</param>
    /// <param name="weights">Positive component weights (normalised here), or null for equal weights.</param>
    public GaussianMixture(IReadOnlyList<double[]> means, double standardDeviation, IReadOnlyList<double>? weights = null)
    {
        ArgumentNullException.ThrowIfNull(means);
        if (means.Count == 0)
        {
            throw new ArgumentException("A mixture needs at least one component.", nameof(means));
        }

        int dimension = means[0]?.Length ?? 0;
        if (dimension == 0 || means.Any(mean => mean is null || mean.Length != dimension || !mean.All(double.IsFinite)))
        {
            throw new ArgumentException("Every mean must be a non-empty vector of finite values, all of the same length.", nameof(means));
        }

        ToyArguments.CheckNoise(standardDeviation, nameof(standardDeviation));
        if (weights is not null && (weights.Count != means.Count || weights.Any(weight => !(weight > 0) || !double.IsFinite(weight))))
        {
            throw new ArgumentException($"Give {means.Count} positive finite weights, one per mean.", nameof(weights));
        }

        this.means = [.. means.Select(mean => (double[])mean.Clone())];
        double total = weights?.Sum() ?? means.Count;
        this.weights = [.. Enumerable.Range(0, means.Count).Select(k => (weights?[k] ?? 1.0) / total)];
        cumulativeWeights = new double[this.weights.Length];
        double running = 0;
        for (int k = 0; k < this.weights.Length; k++)
        {
            running += this.weights[k];
            cumulativeWeights[k] = running;
        }

        logWeights = Array.ConvertAll(this.weights, Math.Log);
        Dimension = dimension;
        StandardDeviation = standardDeviation;
    }

    /// <inheritdoc />
    public int Dimension { get; }

    /// <summary>Standard deviation of every component, per coordinate.</summary>
    public double StandardDeviation { get; }

    /// <summary>Component means.</summary>
    public IReadOnlyList<IReadOnlyList<double>> Means => Array.ConvertAll(means, mean => (IReadOnlyList<double>)Array.AsReadOnly(mean));

    /// <summary>Normalised component weights (they sum to 1).</summary>
    public IReadOnlyList<double> Weights => Array.AsReadOnly(weights);

    /// <summary>
    /// The "8 Gaussians" benchmark of FFJORD (Grathwohl et al., 2019): equal-weight components at the 8 angles k*45 degrees
    /// on a circle of radius 4/sqrt(2) (about 2.83) with standard deviation 0.5/sqrt(2) (about 0.354).
    /// </summary>
    public static GaussianMixture EightGaussians()
    {
        double radius = 4.0 / Math.Sqrt(2.0);
        double[][] centers = [.. Enumerable.Range(0, 8).Select(k =>
            new[] { radius * Math.Cos(k * Math.PI / 4), radius * Math.Sin(k * Math.PI / 4) })];
        return new GaussianMixture(centers, 0.5 / Math.Sqrt(2.0));
    }

    /// <inheritdoc />
    public void Sample(Random random, Span<float> destination, int count)
    {
        ToyArguments.CheckSample(random, destination, count, Dimension);
        for (int i = 0; i < count; i++)
        {
            double[] mean = means[PickComponent(random.NextDouble())];
            for (int d = 0; d < Dimension; d++)
            {
                destination[(i * Dimension) + d] = (float)(mean[d] + (StandardDeviation * NormalRandom.Next(random)));
            }
        }
    }

    /// <inheritdoc />
    public double LogDensity(ReadOnlySpan<double> x)
    {
        ToyArguments.CheckPoint(x, Dimension);
        double inverseTwoVariance = 1.0 / (2.0 * StandardDeviation * StandardDeviation);
        double max = double.NegativeInfinity, sum = 0;
        for (int k = 0; k < means.Length; k++)
        {
            double squaredDistance = 0;
            for (int d = 0; d < Dimension; d++)
            {
                double delta = x[d] - means[k][d];
                squaredDistance += delta * delta;
            }

            double exponent = logWeights[k] - (squaredDistance * inverseTwoVariance);
            if (exponent <= max)
            {
                sum += Math.Exp(exponent - max);
            }
            else
            {
                sum = (sum * Math.Exp(max - exponent)) + 1.0;
                max = exponent;
            }
        }

        return max + Math.Log(sum) - (0.5 * Dimension * Math.Log(2.0 * Math.PI * StandardDeviation * StandardDeviation));
    }

    private int PickComponent(double u)
    {
        int index = Array.BinarySearch(cumulativeWeights, u);
        index = index >= 0 ? index + 1 : ~index;
        return Math.Min(index, cumulativeWeights.Length - 1);
    }
}
