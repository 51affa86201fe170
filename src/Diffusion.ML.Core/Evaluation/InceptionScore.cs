namespace Diffusion.ML.Evaluation;

/// <summary>
/// The Inception Score of generated images from a classifier's logits: IS = exp(E_x KL(p(y|x) || p(y))), computed on
/// <c>splits</c> disjoint parts of the set and reported as mean and standard deviation over the parts, as in
/// Salimans et al. 2016 ("Improved Techniques for Training GANs", sec. 4) and their reference code (10 splits).
/// With a classifier of C classes the score lies in [1, C]: high when every image is confidently one class and all
/// classes are equally frequent.
/// </summary>
public static class InceptionScore
{
    /// <summary>Computes the score from logits (unnormalised log-probabilities), one row of C values per image.</summary>
    /// <param name="logits">N * C logits, row-major.</param>
    /// <param name="classCount">C, the number of classes (at least 2).</param>
    /// <param name="splits">How many disjoint parts to score separately (1 to N).</param>
    /// <returns>The mean and (population) standard deviation of exp(mean KL) over the parts.</returns>
    /// <exception cref="ArgumentException">The length is not a multiple of C, fewer images than splits, or a non-finite logit.</exception>
    public static (double Mean, double StandardDeviation) Compute(ReadOnlySpan<float> logits, int classCount, int splits = 10)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(classCount, 2);
        ArgumentOutOfRangeException.ThrowIfLessThan(splits, 1);
        if (logits.Length % classCount != 0)
            throw new ArgumentException($"{logits.Length} logits are not a whole number of rows of {classCount} classes.", nameof(logits));
        int n = logits.Length / classCount;
        if (n < splits)
            throw new ArgumentException($"The Inception Score with {splits} splits needs at least {splits} images; got {n}.", nameof(logits));

        double[] probabilities = Softmax(logits, classCount);
        var scores = new double[splits];
        for (int s = 0; s < splits; s++)
        {
            int start = (int)((long)s * n / splits), end = (int)((long)(s + 1) * n / splits);
            scores[s] = Math.Exp(MeanKlToMarginal(probabilities, classCount, start, end));
        }
        double mean = scores.Average();
        double variance = scores.Sum(v => (v - mean) * (v - mean)) / splits;
        return (mean, Math.Sqrt(variance)); // Salimans et al. 2016 reference code: np.mean, np.std over the splits
    }

    /// <summary>Row-wise softmax in double via the log-sum-exp shift.</summary>
    internal static double[] Softmax(ReadOnlySpan<float> logits, int classCount)
    {
        int n = logits.Length / classCount;
        var p = new double[logits.Length];
        for (int i = 0; i < n; i++)
        {
            var row = logits.Slice(i * classCount, classCount);
            double max = double.NegativeInfinity;
            foreach (float v in row)
            {
                if (!float.IsFinite(v))
                    throw new ArgumentException($"The logits of image {i} contain a non-finite value ({v}).", nameof(logits));
                max = Math.Max(max, v);
            }
            double sum = 0;
            for (int c = 0; c < classCount; c++)
                sum += p[i * classCount + c] = Math.Exp(row[c] - max);
            for (int c = 0; c < classCount; c++)
                p[i * classCount + c] /= sum;
        }
        return p;
    }

    private static double MeanKlToMarginal(double[] p, int classCount, int start, int end)
    {
        var marginal = new double[classCount];
        for (int i = start; i < end; i++)
        for (int c = 0; c < classCount; c++)
            marginal[c] += p[i * classCount + c];
        for (int c = 0; c < classCount; c++)
            marginal[c] /= end - start;

        double kl = 0;
        for (int i = start; i < end; i++)
        for (int c = 0; c < classCount; c++)
        {
            double pc = p[i * classCount + c];
            if (pc > 0) kl += pc * (Math.Log(pc) - Math.Log(marginal[c])); // KL(p(y|x) || p(y)), 0 log 0 = 0
        }
        return kl / (end - start);
    }
}
