namespace Diffusion.ML.Evaluation;

/// <summary>
/// The features (and classifier logits) of one image set under one feature network, with their Gaussian statistics:
/// everything <see cref="SampleQuality"/> needs, computed once so a reference set can be scored against many models.
/// </summary>
public sealed class ExtractedFeatures
{
    private ExtractedFeatures(string network, float[][] features, float[] logits, int classCount, FeatureStatistics statistics)
    {
        Network = network;
        Features = features;
        Logits = logits;
        ClassCount = classCount;
        Statistics = statistics;
    }

    /// <summary>The <see cref="IFeatureExtractor.Name"/> of the network that produced the features.</summary>
    public string Network { get; }

    /// <summary>One feature vector per image.</summary>
    public float[][] Features { get; }

    /// <summary>N * <see cref="ClassCount"/> logits, row-major; empty when the network is not a classifier.</summary>
    public float[] Logits { get; }

    /// <summary>The number of logits per image (0 when the network is not a classifier).</summary>
    public int ClassCount { get; }

    /// <summary>The number of images.</summary>
    public int Count => Features.Length;

    /// <summary>Mean and covariance of the features (for the Frechet distance).</summary>
    public FeatureStatistics Statistics { get; }

    /// <summary>Runs <paramref name="extractor"/> over a set of images in batches.</summary>
    /// <param name="extractor">The feature network.</param>
    /// <param name="images">N images of the extractor's input shape, row-major, pixel values in [-1, 1].</param>
    /// <param name="batchSize">Images per call to the extractor.</param>
    /// <param name="progress">Receives the number of images done after each batch.</param>
    /// <param name="cancellationToken">Stops between batches.</param>
    /// <exception cref="ArgumentException">The set is empty or not a whole number of images, or a feature is not finite.</exception>
    public static ExtractedFeatures Compute(IFeatureExtractor extractor, ReadOnlySpan<float> images, int batchSize = 256,
        IProgress<int>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(extractor);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        int length = extractor.InputShape.Aggregate(1, (a, b) => a * b);
        if (images.Length == 0 || images.Length % length != 0)
            throw new ArgumentException(
                $"{images.Length} pixel values are not a non-empty whole number of images of shape [{string.Join(", ", extractor.InputShape)}] " +
                $"that the feature network '{extractor.Name}' takes.", nameof(images));
        int n = images.Length / length, d = extractor.FeatureDimension, c = extractor.ClassCount;

        var features = new float[n][];
        var logits = new float[n * c];
        var statistics = new FeatureStatistics(d);
        var batchFeatures = new float[Math.Min(batchSize, n) * d];
        for (int start = 0; start < n; start += batchSize)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int count = Math.Min(batchSize, n - start);
            var output = batchFeatures.AsSpan(0, count * d);
            extractor.Extract(images.Slice(start * length, count * length), output, logits.AsSpan(start * c, count * c));
            statistics.AddBatch(output);
            for (int i = 0; i < count; i++)
                features[start + i] = output.Slice(i * d, d).ToArray();
            progress?.Report(start + count);
        }
        return new ExtractedFeatures(extractor.Name, features, logits, c, statistics);
    }

    /// <summary>The arg-max class of each image (requires a classifier).</summary>
    /// <exception cref="InvalidOperationException">The feature network gave no logits.</exception>
    public int[] PredictedClasses()
    {
        if (ClassCount == 0)
            throw new InvalidOperationException($"The feature network '{Network}' is not a classifier; it gave no logits.");
        var predicted = new int[Count];
        for (int i = 0; i < Count; i++)
        {
            var row = Logits.AsSpan(i * ClassCount, ClassCount);
            int best = 0;
            for (int k = 1; k < ClassCount; k++)
                if (row[k] > row[best]) best = k;
            predicted[i] = best;
        }
        return predicted;
    }
}
