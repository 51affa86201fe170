using System.Numerics;

namespace Diffusion.ML.Evaluation;

/// <summary>
/// Improved precision and recall of a generative model (Kynkaanniemi et al. 2019, "Improved Precision and Recall Metric
/// for Assessing Generative Models", sec. 2): each set's manifold is the union of hyperspheres around its feature
/// vectors with radius the distance to the k-th nearest neighbour in the same set; precision is the fraction of
/// generated vectors inside the real manifold, recall the fraction of real vectors inside the generated manifold.
/// Cost O((m + n)^2 D), parallel over rows.
/// </summary>
public static class PrecisionRecall
{
    /// <summary>Computes precision and recall.</summary>
    /// <param name="real">m &gt; k feature vectors of length D from real images.</param>
    /// <param name="generated">n &gt; k feature vectors of length D from generated images.</param>
    /// <param name="k">The neighbourhood size (the paper uses 3).</param>
    /// <returns>Precision and recall, each in [0, 1].</returns>
    /// <exception cref="ArgumentException">A set has k or fewer vectors, the lengths differ, or an entry is not finite.</exception>
    public static (double Precision, double Recall) Compute(float[][] real, float[][] generated, int k = 3)
    {
        ArgumentNullException.ThrowIfNull(real);
        ArgumentNullException.ThrowIfNull(generated);
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        int d = FeatureSets.Validate(real, nameof(real), k + 1);
        if (FeatureSets.Validate(generated, nameof(generated), k + 1) != d)
            throw new ArgumentException($"Generated features have length {generated[0].Length}; real features have {d}.", nameof(generated));

        double[] realRadii = KthNeighbourDistances(real, k);
        double[] generatedRadii = KthNeighbourDistances(generated, k);
        return (FractionInside(generated, real, realRadii), FractionInside(real, generated, generatedRadii));
    }

    /// <summary>Squared distance from each vector to its k-th nearest other vector of the same set.</summary>
    internal static double[] KthNeighbourDistances(float[][] set, int k)
    {
        var radii = new double[set.Length];
        Parallel.For(0, set.Length, () => new double[k], (i, _, nearest) =>
        {
            Array.Fill(nearest, double.PositiveInfinity); // the k smallest distances seen so far, ascending
            for (int j = 0; j < set.Length; j++)
            {
                if (j == i) continue;
                double dist = SquaredDistance(set[i], set[j]);
                if (dist >= nearest[k - 1]) continue;
                int pos = k - 1;
                while (pos > 0 && nearest[pos - 1] > dist)
                {
                    nearest[pos] = nearest[pos - 1];
                    pos--;
                }
                nearest[pos] = dist;
            }
            radii[i] = nearest[k - 1];
            return nearest;
        }, _ => { });
        return radii;
    }

    /// <summary>The fraction of <paramref name="queries"/> within the radius of at least one vector of <paramref name="manifold"/>.</summary>
    private static double FractionInside(float[][] queries, float[][] manifold, double[] squaredRadii)
    {
        int inside = 0;
        Parallel.For(0, queries.Length, () => 0, (i, _, count) =>
        {
            for (int j = 0; j < manifold.Length; j++)
                if (SquaredDistance(queries[i], manifold[j]) <= squaredRadii[j]) // Kynkaanniemi et al. 2019, eq. 1: f(phi, Phi)
                    return count + 1;
            return count;
        }, count => Interlocked.Add(ref inside, count));
        return (double)inside / queries.Length;
    }

    internal static double SquaredDistance(float[] a, float[] b)
    {
        int i = 0;
        var acc = Vector<float>.Zero;
        for (; i <= a.Length - Vector<float>.Count; i += Vector<float>.Count)
        {
            var diff = new Vector<float>(a, i) - new Vector<float>(b, i);
            acc += diff * diff;
        }
        double sum = Vector.Sum(acc);
        for (; i < a.Length; i++)
        {
            double diff = a[i] - b[i];
            sum += diff * diff;
        }
        return sum;
    }
}
