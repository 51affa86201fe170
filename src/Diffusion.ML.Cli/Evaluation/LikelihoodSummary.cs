namespace Diffusion.ML.Cli.Evaluation;

/// <summary>The variational bound of a checkpoint as <c>eval</c> reports it (bits per dimension; evaluations include the pilot run).</summary>
internal sealed record LikelihoodSummary(
    double BitsPerDim,
    double StandardError,
    double PriorBitsPerDim,
    double DiffusionBitsPerDim,
    double DecoderBitsPerDim,
    int Images,
    long NetworkEvaluations,
    string Estimator,
    int TimestepsPerImage,
    string Variance,
    string DecoderVariance,
    string Conditioning);
