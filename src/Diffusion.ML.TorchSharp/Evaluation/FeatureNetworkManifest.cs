namespace Diffusion.ML.TorchSharp.Evaluation;

/// <summary>
/// The JSON manifest of a feature-network file (<see cref="FeatureNetworkFile"/>): what the file is, how to rebuild the
/// network, what it takes and returns, how well it classifies, and how it was trained. The architecture fields are
/// filled in by <see cref="FeatureNetworkFile.Save"/> from the network itself.
/// </summary>
public sealed record FeatureNetworkManifest
{
    /// <summary>The format version this library writes.</summary>
    public const int CurrentFormatVersion = 1;

    /// <summary>The value of <see cref="Kind"/> in every feature-network file.</summary>
    public const string FileKind = "diffusion-ml/feature-network";

    /// <summary>What the file is; always <see cref="FileKind"/> (a diffusion checkpoint has no such field).</summary>
    public string Kind { get; init; } = FileKind;

    /// <summary>Format version of the file.</summary>
    public int FormatVersion { get; init; } = CurrentFormatVersion;

    /// <summary>The network's identifier, reported as the extractor's name (e.g. <c>fashion-mnist-features</c>).</summary>
    public required string Id { get; init; }

    /// <summary>Architecture kind, see <see cref="FeatureClassifier.KindName"/>.</summary>
    public string ModelKind { get; init; } = "";

    /// <summary>Architecture configuration JSON, see <see cref="FeatureClassifier.ConfigJson"/>.</summary>
    public string ModelConfig { get; init; } = "";

    /// <summary>Shape of one input image, channels first: [C, H, W]; pixels in [-1, 1].</summary>
    public int[] InputShape { get; init; } = [];

    /// <summary>Length D of a feature vector.</summary>
    public int FeatureDimension { get; init; }

    /// <summary>Number of class logits.</summary>
    public int ClassCount { get; init; }

    /// <summary>Class names, one per logit, or null.</summary>
    public IReadOnlyList<string>? ClassNames { get; init; }

    /// <summary>Accuracy measured on <see cref="TestData"/> when the file was written, or null.</summary>
    public double? TestAccuracy { get; init; }

    /// <summary>Number of test images behind <see cref="TestAccuracy"/>.</summary>
    public int? TestCount { get; init; }

    /// <summary>Which data the accuracy was measured on (e.g. <c>fashion-mnist t10k</c>).</summary>
    public string? TestData { get; init; }

    /// <summary>The command line that trained the network, or null.</summary>
    public string? TrainingCommand { get; init; }

    /// <summary>The trainer's options, or null.</summary>
    public FeatureClassifierTrainerOptions? Training { get; init; }

    /// <summary>Wall-clock seconds the training took, or null.</summary>
    public double? TrainingSeconds { get; init; }

    /// <summary>SHA-256 (hex) of each binary entry, checked on load.</summary>
    public IReadOnlyDictionary<string, string> EntryHashes { get; init; } = new Dictionary<string, string>();

    /// <summary>When the file was written (UTC).</summary>
    public DateTime CreatedUtc { get; init; } = DateTime.UtcNow;
}
