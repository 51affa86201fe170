using Diffusion.ML.Evaluation;
using Diffusion.ML.Schedules;

namespace Diffusion.ML.Sampling;

/// <summary>
/// The exact optimal noise predictor for data x_0 ~ N(mu, Sigma) with a full covariance:
/// E[eps | x_t] = sqrt(1 - abar) (abar Sigma + (1 - abar) I)^-1 (x_t - sqrt(abar) mu), since x_t and eps are jointly Gaussian
/// with Cov(x_t) = abar Sigma + (1 - abar) I and Cov(eps, x_t) = sqrt(1 - abar) I (Ho et al. 2020, eq. 4). A test utility like
/// <see cref="GaussianDataDenoiser"/>, for checks where coordinates depend on each other (inpainting: the unknown coordinates
/// must follow the conditional Gaussian given the known ones). Sigma = Q diag(lambda) Q^T is decomposed once, so each
/// evaluation costs O(d^2) per sample. Fractional timesteps use <see cref="NoiseSchedule.InterpolatedAlphaBar"/>.
/// </summary>
public sealed class CorrelatedGaussianDenoiser : IDenoiser
{
    private readonly NoiseSchedule _schedule;
    private readonly double[] _mean;
    private readonly double[] _eigenvalues;
    private readonly double[,] _eigenvectors;

    /// <summary>Creates the denoiser for one sample of <paramref name="mean"/>.Length coordinates.</summary>
    /// <param name="schedule">The schedule whose alpha-bar defines x_t.</param>
    /// <param name="mean">Data mean mu.</param>
    /// <param name="covariance">Data covariance Sigma, d x d, symmetric positive semi-definite.</param>
    /// <exception cref="ArgumentException">The sizes differ, or Sigma is not symmetric positive semi-definite.</exception>
    public CorrelatedGaussianDenoiser(NoiseSchedule schedule, IReadOnlyList<double> mean, double[,] covariance)
    {
        _schedule = schedule ?? throw new ArgumentNullException(nameof(schedule));
        ArgumentNullException.ThrowIfNull(mean);
        ArgumentNullException.ThrowIfNull(covariance);
        int d = mean.Count;
        if (d == 0 || covariance.GetLength(0) != d || covariance.GetLength(1) != d)
            throw new ArgumentException($"Need a non-empty mean and a {d} x {d} covariance; got {covariance.GetLength(0)} x {covariance.GetLength(1)}.");
        for (int i = 0; i < d; i++)
        for (int j = 0; j < i; j++)
            if (Math.Abs(covariance[i, j] - covariance[j, i]) > 1e-12 * (Math.Abs(covariance[i, j]) + 1))
                throw new ArgumentException($"The covariance is not symmetric at ({i}, {j}).", nameof(covariance));
        (_eigenvalues, _eigenvectors) = SymmetricEigen.Decompose(covariance);
        double largest = Math.Max(_eigenvalues[^1], 0);
        if (_eigenvalues[0] < -1e-10 * (largest + 1))
            throw new ArgumentException($"The covariance is not positive semi-definite (eigenvalue {_eigenvalues[0]}).", nameof(covariance));
        for (int i = 0; i < d; i++) _eigenvalues[i] = Math.Max(_eigenvalues[i], 0);
        _mean = mean.ToArray();
        SampleShape = [d];
    }

    /// <inheritdoc />
    public IReadOnlyList<int> SampleShape { get; }

    /// <inheritdoc />
    public PredictionType PredictionType => PredictionType.Epsilon;

    /// <inheritdoc />
    public int ClassCount => 0;

    /// <inheritdoc />
    public void Predict(ReadOnlySpan<float> x, ReadOnlySpan<float> timesteps, ReadOnlySpan<int> classLabels, Span<float> output)
    {
        int d = _mean.Length;
        var centred = new double[d];
        var rotated = new double[d];
        for (int b = 0; b < timesteps.Length; b++)
        {
            double abar = _schedule.InterpolatedAlphaBar(timesteps[b]), root = Math.Sqrt(abar);
            for (int i = 0; i < d; i++) centred[i] = x[b * d + i] - root * _mean[i];
            // Q^T (x_t - sqrt(abar) mu), scaled by sqrt(1 - abar) / (abar lambda + 1 - abar), rotated back by Q
            for (int k = 0; k < d; k++)
            {
                double sum = 0;
                for (int i = 0; i < d; i++) sum += _eigenvectors[i, k] * centred[i];
                rotated[k] = sum * Math.Sqrt(1 - abar) / (abar * _eigenvalues[k] + 1 - abar);
            }
            for (int i = 0; i < d; i++)
            {
                double sum = 0;
                for (int k = 0; k < d; k++) sum += _eigenvectors[i, k] * rotated[k];
                output[b * d + i] = (float)sum;
            }
        }
    }
}
