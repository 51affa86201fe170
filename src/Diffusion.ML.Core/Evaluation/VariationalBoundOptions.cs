using Diffusion.ML.Sampling;

namespace Diffusion.ML.Evaluation;

/// <summary>How <see cref="VariationalBound"/> estimates the sum of the diffusion terms sum_{t=2..T} L_{t-1}.</summary>
public enum VariationalBoundEstimator
{
    /// <summary>Every term for every image: T network evaluations per image, no timestep sampling (Ho et al. 2020, eq. 5).</summary>
    Full,

    /// <summary>
    /// K timesteps per image drawn independently from {2, ..., T} (uniformly, or from <see cref="VariationalBoundOptions.TimestepProposal"/>),
    /// each term weighted by 1 / (K q(t)): an unbiased estimate of the sum with K + 1 network evaluations per image.
    /// </summary>
    Sampled,
}

/// <summary>The variance of the discretised Gaussian decoder p(x_0 | x_1) (Ho et al. 2020, eq. 13).</summary>
public enum DecoderVariance
{
    /// <summary>
    /// beta-tilde at the paper's step 2, the clipped posterior variance that Ho et al.'s code (and Nichol and Dhariwal 2021's
    /// "to get a better decoder log likelihood") uses with either variance type: right for a model whose x_0 estimate from
    /// x_1 is sharp, as for trained image models.
    /// </summary>
    ClippedPosterior,

    /// <summary>
    /// beta_1, the variance of q(x_1 | x_0): right for a model whose x_0 estimate at x_1 is a posterior mean of continuous
    /// data (such as <see cref="Sampling.GaussianDataDenoiser"/>), whose reverse variance at small t is beta_t, not beta-tilde_t.
    /// </summary>
    Beta,
}

/// <summary>Options of <see cref="VariationalBound"/>; every default is documented on its property.</summary>
public sealed record VariationalBoundOptions
{
    /// <summary>Full (all T terms) or Sampled (K random terms). Default <see cref="VariationalBoundEstimator.Full"/>.</summary>
    public VariationalBoundEstimator Estimator { get; init; } = VariationalBoundEstimator.Full;

    /// <summary>K, the diffusion terms drawn per image by <see cref="VariationalBoundEstimator.Sampled"/>. Default 32.</summary>
    public int TimestepsPerImage { get; init; } = 32;

    /// <summary>
    /// Optional importance-sampling proposal for <see cref="VariationalBoundEstimator.Sampled"/>: T non-negative weights,
    /// entry t the unnormalised probability of drawing 0-based index t; entry 0 (the decoder, always computed) is ignored.
    /// A proposal proportional to sqrt(E[L_t^2]) minimises the variance (Nichol and Dhariwal 2021, sec. 3.3); get it from a
    /// pilot run with <see cref="VariationalBound.ImportanceProposal"/>. A zero weight on a non-zero term biases the estimate.
    /// Null samples uniformly. Default null.
    /// </summary>
    public IReadOnlyList<double>? TimestepProposal { get; init; }

    /// <summary>
    /// The reverse variance sigma_t^2 of p(x_{t-1} | x_t) (Ho et al. 2020, sec. 3.2). Default <see cref="DdpmVarianceType.FixedSmall"/>,
    /// with the t = 1 value clipped as in Ho et al.'s code. Ignored for a model that learns its variance
    /// (<see cref="Sampling.IDenoiser.LearnsVariance"/>): its own variance is used, for every term and the decoder.
    /// </summary>
    public DdpmVarianceType VarianceType { get; init; } = DdpmVarianceType.FixedSmall;

    /// <summary>
    /// The variance of the decoder p(x_0 | x_1). Default <see cref="Evaluation.DecoderVariance.ClippedPosterior"/> (Ho et al.'s code
    /// for both variance types).
    /// </summary>
    public DecoderVariance DecoderVariance { get; init; } = DecoderVariance.ClippedPosterior;

    /// <summary>Clip each x_0 estimate to [-1, 1] before forming the model mean. Off by default: the bound is then that of the unclipped model. Default false.</summary>
    public bool ClipDenoised { get; init; }

    /// <summary>Network evaluations per denoiser call (a batch mixes images and timesteps). Default 128.</summary>
    public int BatchSize { get; init; } = 128;

    /// <summary>Seed. Image i's noise and timesteps depend only on (Seed, FirstIndex + i), never on the batch size. Default 0.</summary>
    public long Seed { get; init; }

    /// <summary>Index of the first image, so that an evaluation split into shards draws the same noise as the whole. Default 0.</summary>
    public long FirstIndex { get; init; }
}

/// <summary>Progress of a <see cref="VariationalBound"/> run, reported after each denoiser call.</summary>
/// <param name="ImagesDone">Images whose every term has been computed.</param>
/// <param name="ImageCount">Images in the run.</param>
/// <param name="NetworkEvaluations">Samples passed through the denoiser so far.</param>
public readonly record struct VariationalBoundProgress(int ImagesDone, int ImageCount, long NetworkEvaluations);

/// <summary>The variational bound of a data set, in bits per dimension (nats / (D ln 2)).</summary>
/// <param name="BitsPerDim">Mean over images of the bound L = L_T + sum L_{t-1} + L_0 (Ho et al. 2020, eq. 5): an upper bound on the negative log-likelihood.</param>
/// <param name="StandardError">Standard error of <paramref name="BitsPerDim"/>: standard deviation of the per-image estimates / sqrt(N); it includes the Monte-Carlo noise of x_t (and of the timesteps for Sampled). NaN for one image.</param>
/// <param name="PriorBitsPerDim">Mean of the prior term L_T.</param>
/// <param name="DecoderBitsPerDim">Mean of the decoder term L_0 = -log p(x_0 | x_1).</param>
/// <param name="DiffusionBitsPerDim">Mean of the (estimated) sum of the diffusion terms L_1 ... L_{T-1}.</param>
/// <param name="ImageCount">N, the number of images.</param>
/// <param name="Dimensions">D, the values per image.</param>
/// <param name="NetworkEvaluations">Samples passed through the denoiser (N T for Full, N (K + 1) for Sampled).</param>
/// <param name="Estimator">The estimator used.</param>
/// <param name="PerImageBitsPerDim">The bound of each image, in input order.</param>
/// <param name="TermMeanBitsPerDim">Full only (empty otherwise): T entries, entry t the mean over images of the term at 0-based index t: entry 0 is L_0 (decoder), entry t &gt;= 1 the KL L_t of the paper's step t + 1.</param>
/// <param name="TermRootMeanSquareBitsPerDim">Full only (empty otherwise): sqrt(mean over images of the squared term), per index as <paramref name="TermMeanBitsPerDim"/>.</param>
public sealed record VariationalBoundResult(
    double BitsPerDim,
    double StandardError,
    double PriorBitsPerDim,
    double DecoderBitsPerDim,
    double DiffusionBitsPerDim,
    int ImageCount,
    int Dimensions,
    long NetworkEvaluations,
    VariationalBoundEstimator Estimator,
    IReadOnlyList<double> PerImageBitsPerDim,
    IReadOnlyList<double> TermMeanBitsPerDim,
    IReadOnlyList<double> TermRootMeanSquareBitsPerDim);
