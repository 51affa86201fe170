namespace Diffusion.ML.TorchSharp.Autoencoders;

/// <summary>How evenly a VQ-VAE uses its codebook, from per-code counts.</summary>
public static class CodebookStatistics
{
    /// <summary>
    /// Perplexity exp(H(p)) = exp(-sum_i p_i log p_i) of the code distribution p_i = counts_i / sum counts (0 log 0 = 0):
    /// K for uniform use of K codes, 1 when one code takes everything (the usage measure of Razavi et al. 2019 and the
    /// reference VQ-VAE code).
    /// </summary>
    /// <param name="counts">How often each code was chosen; at least one positive.</param>
    /// <exception cref="ArgumentException">No counts, a negative count, or all zero.</exception>
    public static double Perplexity(ReadOnlySpan<double> counts)
    {
        double total = 0;
        foreach (double c in counts)
        {
            if (!(c >= 0)) throw new ArgumentException($"Code counts must be finite and >= 0; got {c}.", nameof(counts));
            total += c;
        }
        if (!(total > 0)) throw new ArgumentException("Perplexity needs at least one code use; the counts are all zero.", nameof(counts));
        double entropy = 0;
        foreach (double c in counts)
            if (c > 0) entropy -= c / total * Math.Log(c / total);
        return Math.Exp(entropy);
    }

    /// <summary>Fraction of the codes used at least once, in [0, 1].</summary>
    /// <param name="counts">How often each code was chosen.</param>
    public static double Usage(ReadOnlySpan<double> counts)
    {
        if (counts.IsEmpty) throw new ArgumentException("The codebook has no codes.", nameof(counts));
        int used = 0;
        foreach (double c in counts) if (c > 0) used++;
        return (double)used / counts.Length;
    }
}
