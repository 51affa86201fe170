namespace Diffusion.ML.Evaluation;

/// <summary>Settings of <see cref="SampleQuality.Evaluate"/>; the defaults follow the metrics' reference implementations.</summary>
public sealed record SampleQualityOptions
{
    /// <summary>KID subsets to average over (Binkowski et al. 2018 reference code: 100).</summary>
    public int KidSubsets { get; init; } = 100;

    /// <summary>Vectors per KID subset, capped at the smaller set (reference code: 1000).</summary>
    public int KidSubsetSize { get; init; } = 1000;

    /// <summary>Disjoint parts the Inception Score is computed on (Salimans et al. 2016: 10).</summary>
    public int InceptionScoreSplits { get; init; } = 10;

    /// <summary>Neighbourhood size k of the precision/recall manifolds (Kynkaanniemi et al. 2019: 3).</summary>
    public int PrecisionRecallNeighbours { get; init; } = 3;

    /// <summary>Seed of the KID subset draws.</summary>
    public int Seed { get; init; }
}
