using Diffusion.ML.Data;

namespace Diffusion.ML.Langevin;

/// <summary>
/// The exact score of a <see cref="GaussianMixture"/> convolved with N(0, sigma^2 I): the noised density is the mixture
/// sum_k w_k N(mu_k, (s^2 + sigma^2) I), whose score is sum_k r_k(x) (mu_k - x) / (s^2 + sigma^2) with the responsibilities
/// r_k(x) proportional to w_k exp(-|x - mu_k|^2 / (2 (s^2 + sigma^2))). It is the optimum of denoising score matching at
/// every level, so a Langevin sampler driven by it can be tested without training anything.
/// </summary>
public sealed class NoisedGaussianMixtureScore : IScoreModel
{
    private readonly double[][] _means;
    private readonly double[] _logWeights;
    private readonly double _dataVariance;

    /// <summary>Creates the score of <paramref name="mixture"/> under Gaussian perturbation.</summary>
    /// <param name="mixture">The data distribution.</param>
    public NoisedGaussianMixtureScore(GaussianMixture mixture)
    {
        Mixture = mixture ?? throw new ArgumentNullException(nameof(mixture));
        _means = [.. mixture.Means.Select(mean => mean.ToArray())];
        _logWeights = [.. mixture.Weights.Select(w => Math.Log(w))];
        _dataVariance = mixture.StandardDeviation * mixture.StandardDeviation;
        SampleShape = [mixture.Dimension];
    }

    /// <summary>The data distribution.</summary>
    public GaussianMixture Mixture { get; }

    /// <inheritdoc />
    public IReadOnlyList<int> SampleShape { get; }

    /// <inheritdoc />
    public void Score(ReadOnlySpan<float> x, ReadOnlySpan<float> sigmas, Span<float> output)
    {
        int d = _means[0].Length, components = _means.Length;
        if (x.Length != sigmas.Length * d || output.Length != x.Length)
            throw new ArgumentException($"Expected {sigmas.Length} samples of {d} values in x and output; got {x.Length} and {output.Length}.");
        Span<double> logResponsibility = components <= 64 ? stackalloc double[components] : new double[components];
        for (int b = 0; b < sigmas.Length; b++)
        {
            double variance = _dataVariance + (double)sigmas[b] * sigmas[b]; // Cov of N(mu_k, s^2 I) * N(0, sigma^2 I) = (s^2 + sigma^2) I
            var point = x.Slice(b * d, d);
            double max = double.NegativeInfinity;
            for (int k = 0; k < components; k++)
            {
                double squaredDistance = 0;
                for (int i = 0; i < d; i++)
                {
                    double delta = point[i] - _means[k][i];
                    squaredDistance += delta * delta;
                }
                logResponsibility[k] = _logWeights[k] - squaredDistance / (2 * variance); // log w_k N(x; mu_k, v I) + const
                max = Math.Max(max, logResponsibility[k]);
            }
            double total = 0;
            for (int k = 0; k < components; k++) total += logResponsibility[k] = Math.Exp(logResponsibility[k] - max);
            var result = output.Slice(b * d, d);
            for (int i = 0; i < d; i++)
            {
                double score = 0;
                for (int k = 0; k < components; k++) score += logResponsibility[k] * (_means[k][i] - point[i]);
                result[i] = (float)(score / (total * variance)); // sum_k r_k (mu_k - x) / v
            }
        }
    }
}
