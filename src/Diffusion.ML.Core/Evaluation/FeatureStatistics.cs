namespace Diffusion.ML.Evaluation;

/// <summary>
/// Streaming mean and unbiased covariance of D-dimensional feature vectors: the (mu, Sigma) that the
/// Frechet distance compares (Heusel et al. 2017, sec. 3). Accumulates in double with Welford's update,
/// O(D^2) time per vector and O(D^2) memory, so millions of vectors can be streamed without catastrophic cancellation.
/// </summary>
public sealed class FeatureStatistics
{
    private readonly double[] _mean;
    private readonly double[] _coMoment; // upper triangle (row-major D x D) of sum_k (x_k - mean_{k-1})(x_k - mean_k)^T
    private readonly double[] _delta;

    /// <summary>Creates empty statistics for feature vectors of length <paramref name="dimension"/>.</summary>
    /// <param name="dimension">The feature dimension D (at least 1).</param>
    public FeatureStatistics(int dimension)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(dimension, 1);
        Dimension = dimension;
        _mean = new double[dimension];
        _coMoment = new double[dimension * dimension];
        _delta = new double[dimension];
    }

    /// <summary>The feature dimension D.</summary>
    public int Dimension { get; }

    /// <summary>How many feature vectors have been added.</summary>
    public long Count { get; private set; }

    /// <summary>The sample mean (a fresh copy of length D).</summary>
    /// <exception cref="InvalidOperationException">No vector has been added yet.</exception>
    public double[] Mean
    {
        get
        {
            if (Count == 0)
                throw new InvalidOperationException("The mean needs at least 1 feature vector; none has been added.");
            return (double[])_mean.Clone();
        }
    }

    /// <summary>The unbiased sample covariance, divided by N - 1 (a fresh, exactly symmetric D x D copy).</summary>
    /// <exception cref="InvalidOperationException">Fewer than 2 vectors have been added.</exception>
    public double[,] Covariance
    {
        get
        {
            if (Count < 2)
                throw new InvalidOperationException($"The covariance needs at least 2 feature vectors; {Count} added.");
            int d = Dimension;
            double scale = 1.0 / (Count - 1);
            var cov = new double[d, d];
            for (int i = 0; i < d; i++)
            for (int j = i; j < d; j++)
                cov[i, j] = cov[j, i] = _coMoment[i * d + j] * scale;
            return cov;
        }
    }

    /// <summary>Adds one feature vector of length D.</summary>
    /// <param name="features">The vector; every entry must be finite.</param>
    /// <exception cref="ArgumentException">Wrong length, or a NaN or infinite entry.</exception>
    public void Add(ReadOnlySpan<float> features)
    {
        if (features.Length != Dimension)
            throw new ArgumentException($"Feature vector {Count} has length {features.Length}; expected {Dimension}.", nameof(features));
        Validate(features, Count, nameof(features));
        Accumulate(features);
    }

    /// <summary>Adds a batch of feature vectors stored row-major (N rows of length D). Nothing is added if any row is invalid.</summary>
    /// <param name="batch">N * D values, row after row.</param>
    /// <exception cref="ArgumentException">The length is not a multiple of D, or a row holds a NaN or infinite entry.</exception>
    public void AddBatch(ReadOnlySpan<float> batch)
    {
        int d = Dimension;
        if (batch.Length % d != 0)
            throw new ArgumentException($"Batch length {batch.Length} is not a multiple of the feature dimension {d}.", nameof(batch));
        int rows = batch.Length / d;
        for (int r = 0; r < rows; r++)
            Validate(batch.Slice(r * d, d), Count + r, nameof(batch));
        for (int r = 0; r < rows; r++)
            Accumulate(batch.Slice(r * d, d));
    }

    private static void Validate(ReadOnlySpan<float> features, long index, string paramName)
    {
        for (int i = 0; i < features.Length; i++)
        {
            if (float.IsNaN(features[i]))
                throw new ArgumentException($"Feature vector {index} contains NaN (entry {i}).", paramName);
            if (float.IsInfinity(features[i]))
                throw new ArgumentException($"Feature vector {index} contains infinity (entry {i}).", paramName);
        }
    }

    private void Accumulate(ReadOnlySpan<float> x)
    {
        int d = Dimension;
        Count++;
        double invN = 1.0 / Count;
        for (int i = 0; i < d; i++)
        {
            _delta[i] = x[i] - _mean[i];
            _mean[i] += _delta[i] * invN; // Welford 1962: mean_n = mean_{n-1} + (x_n - mean_{n-1}) / n
        }
        for (int i = 0; i < d; i++)
        {
            double di = _delta[i];
            int row = i * d;
            for (int j = i; j < d; j++)
                _coMoment[row + j] += di * (x[j] - _mean[j]); // Welford 1962 / Chan, Golub and LeVeque 1983: C_n = C_{n-1} + (x - mean_{n-1})(x - mean_n)^T
        }
    }
}
