namespace Diffusion.ML.Evaluation;

/// <summary>
/// Kernel Inception Distance: the unbiased squared MMD between two feature sets under the cubic polynomial kernel
/// k(x, y) = (x . y / D + 1)^3 (Binkowski et al. 2018, "Demystifying MMD GANs", sec. 4 and eq. 3).
/// Cost is O((m^2 + n^2 + m n) D) per estimate.
/// </summary>
public static class KernelInceptionDistance
{
    /// <summary>
    /// The unbiased estimator MMD^2_u = 1/(m(m-1)) sum_{i!=j} k(x_i, x_j) + 1/(n(n-1)) sum_{i!=j} k(y_i, y_j) - 2/(mn) sum_{i,j} k(x_i, y_j).
    /// It can be negative when the two distributions are equal.
    /// </summary>
    /// <param name="x">m &gt;= 2 feature vectors of length D.</param>
    /// <param name="y">n &gt;= 2 feature vectors of the same length D.</param>
    /// <returns>The unbiased MMD^2 estimate.</returns>
    /// <exception cref="ArgumentException">Fewer than 2 vectors in a set, ragged or empty vectors, or a NaN or infinite entry.</exception>
    public static double UnbiasedMmd2(float[][] x, float[][] y)
    {
        int d = Validate(x, y);
        return UnbiasedMmd2(x, Identity(x.Length), y, Identity(y.Length), d);
    }

    /// <summary>
    /// KID as in the reference implementation: the mean and the (population) standard deviation of
    /// <see cref="UnbiasedMmd2(float[][], float[][])"/> over <paramref name="subsets"/> random subsets of each set,
    /// each drawn without replacement; the subset size is capped at the smaller set size.
    /// </summary>
    /// <param name="x">m &gt;= 2 feature vectors of length D (e.g. real images).</param>
    /// <param name="y">n &gt;= 2 feature vectors of length D (e.g. generated images).</param>
    /// <param name="subsets">How many subsets to average over (at least 1).</param>
    /// <param name="subsetSize">Vectors per subset (at least 2), capped at min(m, n).</param>
    /// <param name="seed">Seed of the subset sampler, for reproducible results.</param>
    /// <returns>The mean and standard deviation of the subset estimates.</returns>
    /// <exception cref="ArgumentException">Invalid feature sets (see <see cref="UnbiasedMmd2(float[][], float[][])"/>).</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="subsets"/> &lt; 1 or <paramref name="subsetSize"/> &lt; 2.</exception>
    public static (double Mean, double StandardDeviation) Compute(float[][] x, float[][] y, int subsets = 100, int subsetSize = 1000, int seed = 0)
    {
        int d = Validate(x, y);
        ArgumentOutOfRangeException.ThrowIfLessThan(subsets, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(subsetSize, 2);
        int size = Math.Min(subsetSize, Math.Min(x.Length, y.Length));

        var random = new Random(seed);
        int[] xOrder = Identity(x.Length), yOrder = Identity(y.Length);
        var draws = new (int[] X, int[] Y)[subsets]; // drawn in sequence so the result does not depend on the thread count
        for (int s = 0; s < subsets; s++)
            draws[s] = (DrawWithoutReplacement(random, xOrder, size), DrawWithoutReplacement(random, yOrder, size));
        var estimates = new double[subsets];
        Parallel.For(0, subsets, s => estimates[s] = UnbiasedMmd2(x, draws[s].X, y, draws[s].Y, d));

        double mean = estimates.Average();
        double variance = 0;
        foreach (double e in estimates)
            variance += (e - mean) * (e - mean);
        return (mean, Math.Sqrt(variance / subsets)); // Binkowski et al. 2018 reference code: np.std (ddof = 0) over the subset estimates
    }

    private static double UnbiasedMmd2(float[][] x, int[] xs, float[][] y, int[] ys, int d)
    {
        int m = xs.Length, n = ys.Length;
        double kxx = 0;
        for (int i = 0; i < m; i++)
        for (int j = i + 1; j < m; j++)
            kxx += Kernel(x[xs[i]], x[xs[j]], d);
        double kyy = 0;
        for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            kyy += Kernel(y[ys[i]], y[ys[j]], d);
        double kxy = 0;
        for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++)
            kxy += Kernel(x[xs[i]], y[ys[j]], d);
        // Binkowski et al. 2018, eq. 3 (Gretton et al. 2012, eq. 3); the i != j sums are twice the i < j sums.
        return 2 * kxx / ((double)m * (m - 1)) + 2 * kyy / ((double)n * (n - 1)) - 2 * kxy / ((double)m * n);
    }

    private static double Kernel(float[] a, float[] b, int d)
    {
        double dot = 0;
        for (int k = 0; k < d; k++)
            dot += (double)a[k] * b[k];
        double u = dot / d + 1;
        return u * u * u; // Binkowski et al. 2018, sec. 4: k(x, y) = (x . y / D + 1)^3
    }

    private static int[] DrawWithoutReplacement(Random random, int[] order, int count)
    {
        for (int i = 0; i < count; i++)
        {
            int j = random.Next(i, order.Length); // partial Fisher-Yates shuffle (Knuth, TAOCP vol. 2, Alg. 3.4.2P)
            (order[i], order[j]) = (order[j], order[i]);
        }
        return order[..count];
    }

    private static int[] Identity(int length)
    {
        var indices = new int[length];
        for (int i = 0; i < length; i++)
            indices[i] = i;
        return indices;
    }

    private static int Validate(float[][] x, float[][] y)
    {
        int d = FeatureSets.Validate(x, nameof(x), 2);
        if (FeatureSets.Validate(y, nameof(y), 2) != d)
            throw new ArgumentException($"Feature vectors of the second set have length {y[0].Length}; the first set's have {d}.", nameof(y));
        return d;
    }
}
