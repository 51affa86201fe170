namespace Diffusion.ML.Evaluation;

/// <summary>The sample-quality metrics of a generated set against a real set, under one feature network.</summary>
/// <param name="FeatureNetwork">The feature network's name; numbers are only comparable under the same network.</param>
/// <param name="RealCount">Images in the real (reference) set.</param>
/// <param name="GeneratedCount">Images in the generated set.</param>
/// <param name="Fid">Frechet distance between the Gaussians fitted to the two feature sets (lower is better).</param>
/// <param name="KidMean">Kernel Inception Distance, mean over subsets (lower is better; ~0 for equal distributions).</param>
/// <param name="KidStandardDeviation">Standard deviation of KID over the subsets.</param>
/// <param name="Precision">Fraction of generated images on the real manifold (fidelity).</param>
/// <param name="Recall">Fraction of real images on the generated manifold (coverage).</param>
/// <param name="InceptionScoreMean">Inception Score of the generated set under the classifier; null when the network has no logits.</param>
/// <param name="InceptionScoreStandardDeviation">Standard deviation of the Inception Score over its splits.</param>
/// <param name="PredictedClassCounts">How many generated images the classifier assigns to each class; null without logits.</param>
/// <param name="ClassAgreement">
/// The fraction of generated images that the classifier assigns to the class they were generated for; null when the
/// intended labels are unknown or the network has no logits.
/// </param>
public sealed record SampleQualityResult(
    string FeatureNetwork,
    int RealCount,
    int GeneratedCount,
    double Fid,
    double KidMean,
    double KidStandardDeviation,
    double Precision,
    double Recall,
    double? InceptionScoreMean,
    double? InceptionScoreStandardDeviation,
    int[]? PredictedClassCounts,
    double? ClassAgreement);
