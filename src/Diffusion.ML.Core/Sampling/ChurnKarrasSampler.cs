namespace Diffusion.ML.Sampling;

/// <summary>
/// The samplers of Karras et al. 2022, Alg. 2 (Euler and Heun): the Karras noise levels of <see cref="KarrasSampler"/> plus
/// the optional churn that raises sigma_i to sigma_hat = (1 + gamma_i) sigma_i with gamma_i = min(S_churn / N, sqrt(2) - 1)
/// where S_tmin &lt;= sigma_i &lt;= S_tmax, adding noise of standard deviation S_noise sqrt(sigma_hat^2 - sigma_i^2).
/// </summary>
public abstract class ChurnKarrasSampler : KarrasSampler
{
    private readonly bool _secondOrder;

    private protected ChurnKarrasSampler(bool secondOrder, bool useKarrasSigmas, double rho, double? sigmaMin, double? sigmaMax,
        double sChurn, double sTmin, double sTmax, double sNoise)
        : base(useKarrasSigmas, rho, sigmaMin, sigmaMax)
    {
        ValidateChurn(sChurn, sTmin, sTmax, sNoise);
        (_secondOrder, SChurn, STmin, STmax, SNoise) = (secondOrder, sChurn, sTmin, sTmax, sNoise);
    }

    /// <summary>S_churn of Karras et al. 2022, Alg. 2.</summary>
    public double SChurn { get; }

    /// <summary>S_tmin of Alg. 2.</summary>
    public double STmin { get; }

    /// <summary>S_tmax of Alg. 2.</summary>
    public double STmax { get; }

    /// <summary>S_noise of Alg. 2.</summary>
    public double SNoise { get; }

    /// <inheritdoc />
    public override void Sample(SamplingContext context, Span<float> x) =>
        SampleAlgorithm2(context, x, _secondOrder, SChurn, STmin, STmax, SNoise);

    /// <summary>Checks the churn options of Alg. 2.</summary>
    private static void ValidateChurn(double sChurn, double sTmin, double sTmax, double sNoise)
    {
        if (!(sChurn >= 0) || double.IsInfinity(sChurn)) throw new ArgumentOutOfRangeException(nameof(sChurn), sChurn, "S_churn must be finite and >= 0.");
        if (double.IsNaN(sTmin) || double.IsNaN(sTmax) || sTmin > sTmax)
            throw new ArgumentException($"Need S_tmin <= S_tmax; got {sTmin} and {sTmax}.", nameof(sTmin));
        if (!(sNoise >= 0) || double.IsInfinity(sNoise)) throw new ArgumentOutOfRangeException(nameof(sNoise), sNoise, "S_noise must be finite and >= 0.");
    }
}
