namespace Diffusion.ML.Sampling;

/// <summary>Dynamic thresholding of x_0 estimates (Saharia et al. 2022, "Imagen", sec. 2.3), sample by sample.</summary>
public static class Thresholding
{
    /// <summary>
    /// For each sample: s = the <paramref name="quantile"/> of |x_0| over the sample's values, s = min(max(s, 1), maxValue),
    /// then x_0 = clip(x_0, -s, s) / s (Saharia et al. 2022, sec. 2.3; diffusers' <c>_threshold_sample</c>). The quantile
    /// interpolates linearly between order statistics (torch's <c>quantile</c>: position q (m - 1) in the sorted values).
    /// Each sample is thresholded by its own s, so the result never depends on the batch.
    /// </summary>
    /// <param name="x0">A batch of x_0 estimates, modified in place.</param>
    /// <param name="sampleSize">Values per sample.</param>
    /// <param name="quantile">q in (0, 1] (Imagen's percentile / 100; diffusers' <c>dynamic_thresholding_ratio</c>).</param>
    /// <param name="maxValue">Upper bound of s, &gt;= 1 (diffusers' <c>sample_max_value</c>; +infinity is Imagen's rule).</param>
    /// <param name="scratch">Optional buffer of at least <paramref name="sampleSize"/> values, to avoid an allocation.</param>
    public static void Dynamic(Span<float> x0, int sampleSize, double quantile, double maxValue = double.PositiveInfinity, float[]? scratch = null)
    {
        Validate(quantile, maxValue);
        if (sampleSize < 1 || x0.Length % sampleSize != 0)
            throw new ArgumentException($"The batch length {x0.Length} is not a multiple of the sample size {sampleSize}.", nameof(sampleSize));
        float[] sorted = scratch is { } s0 && s0.Length >= sampleSize ? s0 : new float[sampleSize];
        for (int start = 0; start < x0.Length; start += sampleSize)
        {
            Span<float> sample = x0.Slice(start, sampleSize);
            Span<float> abs = sorted.AsSpan(0, sampleSize);
            for (int i = 0; i < sampleSize; i++) abs[i] = Math.Abs(sample[i]);
            abs.Sort();
            double s = Math.Min(Math.Max(Quantile(abs, quantile), 1.0), maxValue);
            for (int i = 0; i < sampleSize; i++) sample[i] = (float)(Math.Clamp(sample[i], -s, s) / s);
        }
    }

    /// <summary>The q-quantile of ascending <paramref name="sorted"/> values, linear between order statistics (torch and numpy's default).</summary>
    public static double Quantile(ReadOnlySpan<float> sorted, double q)
    {
        if (sorted.IsEmpty) throw new ArgumentException("No values.", nameof(sorted));
        double position = q * (sorted.Length - 1);
        int low = (int)Math.Floor(position);
        if (low >= sorted.Length - 1) return sorted[^1];
        double fraction = position - low;
        return sorted[low] + fraction * ((double)sorted[low + 1] - sorted[low]);
    }

    /// <summary>Checks the two options of dynamic thresholding.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The quantile is outside (0, 1] or the maximum is below 1 or NaN.</exception>
    public static void Validate(double quantile, double maxValue)
    {
        if (!(quantile > 0 && quantile <= 1))
            throw new ArgumentOutOfRangeException(nameof(quantile), quantile, "The dynamic thresholding quantile must lie in (0, 1], e.g. 0.995.");
        if (!(maxValue >= 1))
            throw new ArgumentOutOfRangeException(nameof(maxValue), maxValue, "The dynamic thresholding maximum must be >= 1 (s is at least 1).");
    }
}
