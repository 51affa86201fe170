using Diffusion.ML.TorchSharp.Modules;

namespace Diffusion.ML.TorchSharp.Autoencoders;

/// <summary>Architecture, codebook and objective of a <see cref="VqVae"/>; stored in checkpoints as JSON.</summary>
public sealed record VqVaeOptions
{
    /// <summary>The convolutional encoder/decoder shape. Default 1x28x28 images, levels [32, 64, 64] (7x7 latents).</summary>
    public ConvBackboneOptions Backbone { get; init; } = new();

    /// <summary>Number of codes K. Default 128.</summary>
    public int CodebookSize { get; init; } = 128;

    /// <summary>Dimension D of a code (the latent channels). Default 16.</summary>
    public int CodeDimension { get; init; } = 16;

    /// <summary>Weight beta of the commitment loss ||z_e - sg[e]||^2 (van den Oord et al. 2017, eq. 3; the paper uses 0.25). Default 0.25.</summary>
    public double CommitmentCost { get; init; } = 0.25;

    /// <summary>
    /// Update the codebook with exponential moving averages (van den Oord et al. 2017, App. A.1) instead of the codebook
    /// loss ||sg[z_e] - e||^2. Default true.
    /// </summary>
    public bool EmaUpdates { get; init; } = true;

    /// <summary>Decay gamma of the EMA codebook updates (the paper uses 0.99). Default 0.99.</summary>
    public double EmaDecay { get; init; } = 0.99;

    /// <summary>epsilon of the Laplace smoothing of the cluster sizes N_i (as in the reference implementation, 1e-5). Default 1e-5.</summary>
    public double LaplaceEpsilon { get; init; } = 1e-5;

    /// <summary>
    /// A code whose moving-average cluster size N_i falls below this is dead and is restarted at a random encoder output of
    /// the current batch (Dhariwal et al. 2020, Jukebox, Sec. 3.3); 0 disables restarts. Default 1.
    /// </summary>
    public double DeadCodeThreshold { get; init; } = 1.0;

    /// <summary>Initialise the codebook with k-means on the first training batch's encoder outputs (Lloyd's algorithm). Default false.</summary>
    public bool KMeansInit { get; init; }

    /// <summary>Lloyd iterations of the k-means initialisation. Default 10.</summary>
    public int KMeansIterations { get; init; } = 10;

    /// <summary>Checks the options and says what is wrong.</summary>
    /// <exception cref="ArgumentException">A value is out of range.</exception>
    public void Validate()
    {
        ArgumentNullException.ThrowIfNull(Backbone, nameof(Backbone));
        Backbone.Validate();
        if (CodebookSize < 2) throw new ArgumentException($"CodebookSize must be >= 2, got {CodebookSize}.", nameof(CodebookSize));
        if (CodeDimension < 1) throw new ArgumentException($"CodeDimension must be >= 1, got {CodeDimension}.", nameof(CodeDimension));
        if (!(CommitmentCost >= 0 && double.IsFinite(CommitmentCost))) throw new ArgumentException($"CommitmentCost must be finite and >= 0, got {CommitmentCost}.", nameof(CommitmentCost));
        if (!(EmaDecay >= 0 && EmaDecay < 1)) throw new ArgumentException($"EmaDecay must lie in [0, 1), got {EmaDecay}.", nameof(EmaDecay));
        if (!(LaplaceEpsilon > 0 && double.IsFinite(LaplaceEpsilon))) throw new ArgumentException($"LaplaceEpsilon must be finite and > 0, got {LaplaceEpsilon}.", nameof(LaplaceEpsilon));
        if (!(DeadCodeThreshold >= 0 && double.IsFinite(DeadCodeThreshold))) throw new ArgumentException($"DeadCodeThreshold must be finite and >= 0, got {DeadCodeThreshold}.", nameof(DeadCodeThreshold));
        if (KMeansIterations < 1) throw new ArgumentException($"KMeansIterations must be >= 1, got {KMeansIterations}.", nameof(KMeansIterations));
    }

    /// <summary>Compact camelCase JSON.</summary>
    public string ToJson() => ConfigSerialization.Serialize(this);

    /// <summary>Parses and validates options written by <see cref="ToJson"/>.</summary>
    /// <param name="json">The JSON text.</param>
    /// <exception cref="ArgumentException">Malformed JSON or invalid options.</exception>
    public static VqVaeOptions FromJson(string json)
    {
        var options = ConfigSerialization.Deserialize<VqVaeOptions>(json, nameof(json));
        options.Validate();
        return options;
    }
}
