namespace Diffusion.ML.Sampling;

/// <summary>
/// Classifier-free guidance on a batch of model outputs, with the guidance rescale of Lin et al. 2024. The
/// <see cref="SamplingContext"/> applies it to the raw model output (eps, v or x_0, whatever the model predicts) before the
/// conversion to x_0 and eps, as diffusers does.
/// </summary>
public static class Guidance
{
    /// <summary>
    /// Replaces the conditional half of <paramref name="output"/> by the guided prediction, sample by sample.
    /// <para>
    /// Guidance: g = u + w (c - u) (Ho and Salimans 2022, eq. 6), with c the conditional and u the unconditional output.
    /// Rescale (Lin et al. 2024, "Common Diffusion Noise Schedules and Sample Steps are Flawed", sec. 3.4, eq. 15-16):
    /// g_rescaled = g std(c) / std(g), then g_final = phi g_rescaled + (1 - phi) g, with the standard deviations over all
    /// values of one sample (diffusers' <c>rescale_noise_cfg</c>). The paper rescales the x_0 prediction of a v-model;
    /// diffusers, and this method, rescale the model output itself (eps or v). When a sample has fewer than 2 values or
    /// std(g) = 0, the rescale leaves it unchanged (diffusers would divide by zero).
    /// </para>
    /// </summary>
    /// <param name="output">The model output of a doubled batch: conditional samples first (overwritten by the guided
    /// prediction), then the unconditional ones (left as they are).</param>
    /// <param name="n">Values in one half: batch size times <paramref name="sampleSize"/>.</param>
    /// <param name="sampleSize">Values per sample.</param>
    /// <param name="scale">The guidance scale w.</param>
    /// <param name="rescale">The rescale factor phi in [0, 1]; 0 disables the rescale.</param>
    public static void Apply(Span<float> output, int n, int sampleSize, double scale, double rescale = 0)
    {
        if (sampleSize < 1 || n % sampleSize != 0 || output.Length < 2 * n)
            throw new ArgumentException($"Guidance needs a doubled batch of whole samples; got {output.Length} values, half {n}, sample size {sampleSize}.");
        for (int start = 0; start < n; start += sampleSize)
        {
            Span<float> cond = output.Slice(start, sampleSize);
            ReadOnlySpan<float> uncond = output.Slice(n + start, sampleSize);
            double stdCond = rescale != 0 ? StandardDeviation(cond) : 0;
            for (int i = 0; i < sampleSize; i++) cond[i] = (float)(uncond[i] + scale * (cond[i] - uncond[i]));
            if (rescale == 0) continue;
            double stdGuided = StandardDeviation(cond);
            if (!(stdGuided > 0) || double.IsNaN(stdCond)) continue;
            // phi g std(c) / std(g) + (1 - phi) g   (Lin et al. 2024, eq. 15-16)
            double factor = rescale * stdCond / stdGuided + (1 - rescale);
            for (int i = 0; i < sampleSize; i++) cond[i] = (float)(cond[i] * factor);
        }
    }

    /// <summary>The sample standard deviation (n - 1 in the denominator, as torch's <c>std</c>) of one sample's values; NaN for fewer than 2.</summary>
    public static double StandardDeviation(ReadOnlySpan<float> values)
    {
        if (values.Length < 2) return double.NaN;
        double mean = 0;
        foreach (float v in values) mean += v;
        mean /= values.Length;
        double sum = 0;
        foreach (float v in values) sum += (v - mean) * (v - mean);
        return Math.Sqrt(sum / (values.Length - 1));
    }
}
