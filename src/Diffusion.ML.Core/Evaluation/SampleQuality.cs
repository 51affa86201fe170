namespace Diffusion.ML.Evaluation;

/// <summary>
/// Scores a generated image set against a real one with every standard measure at once: FID, KID, precision/recall,
/// and, when the feature network is a classifier, the Inception Score, the per-class counts of the generated images
/// and the agreement of the classifier with the class each image was generated for.
/// </summary>
public static class SampleQuality
{
    /// <summary>Computes the metrics.</summary>
    /// <param name="real">Features of the real (reference) images.</param>
    /// <param name="generated">Features of the generated images, from the same network.</param>
    /// <param name="intendedLabels">The class each generated image was asked for, or empty when unknown or unconditional.</param>
    /// <param name="options">Metric settings; null for the defaults.</param>
    /// <exception cref="ArgumentException">
    /// The sets come from different networks, a set is too small for a metric, or the labels do not match the generated set.
    /// </exception>
    public static SampleQualityResult Evaluate(ExtractedFeatures real, ExtractedFeatures generated, ReadOnlySpan<int> intendedLabels = default,
        SampleQualityOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(real);
        ArgumentNullException.ThrowIfNull(generated);
        options ??= new SampleQualityOptions();
        if (real.Network != generated.Network || real.ClassCount != generated.ClassCount)
            throw new ArgumentException(
                $"The real features come from '{real.Network}' and the generated ones from '{generated.Network}'; compare sets under one network.",
                nameof(generated));
        if (!intendedLabels.IsEmpty && intendedLabels.Length != generated.Count)
            throw new ArgumentException($"{intendedLabels.Length} intended labels for {generated.Count} generated images.", nameof(intendedLabels));

        double fid = FrechetDistance.Compute(real.Statistics, generated.Statistics);
        var (kid, kidStd) = KernelInceptionDistance.Compute(real.Features, generated.Features, options.KidSubsets, options.KidSubsetSize, options.Seed);
        var (precision, recall) = PrecisionRecall.Compute(real.Features, generated.Features, options.PrecisionRecallNeighbours);

        double? isMean = null, isStd = null, agreement = null;
        int[]? counts = null;
        if (generated.ClassCount > 0)
        {
            (isMean, isStd) = InceptionScore.Compute(generated.Logits, generated.ClassCount, Math.Min(options.InceptionScoreSplits, generated.Count));
            int[] predicted = generated.PredictedClasses();
            counts = new int[generated.ClassCount];
            foreach (int p in predicted) counts[p]++;
            if (!intendedLabels.IsEmpty)
            {
                int agree = 0;
                for (int i = 0; i < predicted.Length; i++)
                    if (predicted[i] == intendedLabels[i]) agree++;
                agreement = (double)agree / predicted.Length;
            }
        }
        return new SampleQualityResult(generated.Network, real.Count, generated.Count, fid, kid, kidStd, precision, recall,
            isMean, isStd, counts, agreement);
    }
}
