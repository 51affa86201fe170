namespace Diffusion.ML.Langevin;

/// <summary>
/// The noise levels sigma_1 &gt; sigma_2 &gt; ... &gt; sigma_L of a noise conditional score network (Song and Ermon 2019,
/// sec. 4.1). Index 0 is the largest level sigma_1, index <c>Count - 1</c> the smallest sigma_L. Build the usual geometric
/// sequence with <see cref="Geometric"/>, or pass any strictly decreasing positive list to the constructor.
/// </summary>
public sealed class NoiseLevels
{
    private readonly double[] _sigmas;

    /// <summary>Uses the given levels, largest first.</summary>
    /// <param name="sigmas">Strictly decreasing, positive and finite noise standard deviations; at least one.</param>
    /// <exception cref="ArgumentException">The list is empty, not strictly decreasing, or holds a value that is not positive and finite.</exception>
    public NoiseLevels(IEnumerable<double> sigmas)
    {
        ArgumentNullException.ThrowIfNull(sigmas);
        _sigmas = sigmas.ToArray();
        if (_sigmas.Length == 0) throw new ArgumentException("Give at least one noise level.", nameof(sigmas));
        for (int i = 0; i < _sigmas.Length; i++)
        {
            if (!(_sigmas[i] > 0) || !double.IsFinite(_sigmas[i]))
                throw new ArgumentException($"Noise level {i} is {_sigmas[i]}; every level must be positive and finite.", nameof(sigmas));
            if (i > 0 && !(_sigmas[i] < _sigmas[i - 1]))
                throw new ArgumentException(
                    $"Noise levels must be strictly decreasing (largest first); level {i} = {_sigmas[i]} follows {_sigmas[i - 1]}.", nameof(sigmas));
        }
    }

    /// <summary>
    /// The geometric sequence of Song and Ermon 2019 (sec. 4.1): sigma_i = sigma_1 (sigma_L / sigma_1)^((i - 1) / (L - 1)),
    /// i = 1..L, so that sigma_i / sigma_(i+1) is the same for every i. The paper uses sigma_1 = 1, sigma_L = 0.01, L = 10;
    /// Song and Ermon 2020 (NCSNv2, techniques 1-2) advise sigma_1 about the largest distance between two training points.
    /// </summary>
    /// <param name="sigmaMax">sigma_1, the largest level.</param>
    /// <param name="sigmaMin">sigma_L, the smallest level; smaller than <paramref name="sigmaMax"/>.</param>
    /// <param name="count">L, the number of levels; at least 2.</param>
    /// <exception cref="ArgumentException">The bounds are not positive and finite with sigmaMin &lt; sigmaMax, or count &lt; 2.</exception>
    public static NoiseLevels Geometric(double sigmaMax, double sigmaMin, int count)
    {
        if (!(sigmaMin > 0) || !double.IsFinite(sigmaMax) || !(sigmaMin < sigmaMax))
            throw new ArgumentException($"Need 0 < sigmaMin < sigmaMax < infinity; got sigmaMin = {sigmaMin}, sigmaMax = {sigmaMax}.", nameof(sigmaMin));
        if (count < 2) throw new ArgumentOutOfRangeException(nameof(count), count, "A geometric sequence needs at least 2 levels.");
        var sigmas = new double[count];
        for (int i = 0; i < count; i++)
            sigmas[i] = sigmaMax * Math.Pow(sigmaMin / sigmaMax, i / (count - 1.0)); // sigma_1 (sigma_L / sigma_1)^((i-1)/(L-1)), 0-based i here
        sigmas[^1] = sigmaMin; // exact end point despite rounding
        return new NoiseLevels(sigmas);
    }

    /// <summary>L, the number of levels.</summary>
    public int Count => _sigmas.Length;

    /// <summary>The level at <paramref name="index"/> (0 = sigma_1, the largest).</summary>
    public double this[int index] => _sigmas[index];

    /// <summary>All levels, largest first.</summary>
    public IReadOnlyList<double> Sigmas => Array.AsReadOnly(_sigmas);

    /// <summary>sigma_1, the largest level.</summary>
    public double Max => _sigmas[0];

    /// <summary>sigma_L, the smallest level.</summary>
    public double Min => _sigmas[^1];

    /// <summary>
    /// The step size of annealed Langevin dynamics at level <paramref name="index"/> (Song and Ermon 2019, Alg. 1):
    /// alpha_i = epsilon sigma_i^2 / sigma_L^2, so that the signal-to-noise ratio of a step is the same at every level.
    /// </summary>
    /// <param name="index">Level index, 0 = sigma_1.</param>
    /// <param name="epsilon">The base step size epsilon (the step used at sigma_L).</param>
    public double StepSize(int index, double epsilon) => epsilon * _sigmas[index] * _sigmas[index] / (Min * Min); // alpha_i = eps sigma_i^2 / sigma_L^2

    /// <summary>The index of the level closest to <paramref name="sigma"/> in log scale (for networks conditioned on a level index).</summary>
    /// <param name="sigma">A positive noise level.</param>
    public int NearestIndex(double sigma)
    {
        if (!(sigma > 0)) throw new ArgumentOutOfRangeException(nameof(sigma), sigma, "A noise level must be positive.");
        double logSigma = Math.Log(sigma);
        int best = 0;
        for (int i = 1; i < _sigmas.Length; i++)
            if (Math.Abs(Math.Log(_sigmas[i]) - logSigma) < Math.Abs(Math.Log(_sigmas[best]) - logSigma)) best = i;
        return best;
    }
}
