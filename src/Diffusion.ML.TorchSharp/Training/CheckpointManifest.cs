namespace Diffusion.ML.TorchSharp.Training;

/// <summary>
/// The JSON manifest at the head of a checkpoint: everything needed to rebuild the model and to resume training exactly.
/// Random state is not stored as generator bytes: every random choice of step k is a pure function of (Seed, k), so
/// <see cref="Step"/> and <see cref="DdpmTrainerOptions.Seed"/> are the whole RNG state.
/// </summary>
public sealed record CheckpointManifest
{
    /// <summary>
    /// The newest format version this library reads and writes: 2 adds half-precision weights (<see cref="WeightPrecision"/>).
    /// Checkpoints with float32 weights are still written as version 1, which earlier versions of the library read.
    /// </summary>
    public const int CurrentFormatVersion = 2;

    /// <summary>The format version of a checkpoint whose weights have <paramref name="precision"/>.</summary>
    public static int FormatVersionFor(WeightPrecision precision) => precision == WeightPrecision.Float32 ? 1 : CurrentFormatVersion;

    /// <summary>Format version of the file (set from <see cref="WeightPrecision"/> when the checkpoint is written).</summary>
    public int FormatVersion { get; init; } = 1;

    /// <summary>
    /// Precision of the stored weights: float32, or float16 / bfloat16 for a compact sampling-only copy
    /// (<see cref="Checkpoint.SaveForInference"/>). Networks load in float32 either way.
    /// </summary>
    public WeightPrecision WeightPrecision { get; init; } = WeightPrecision.Float32;

    /// <summary>Network kind ("unet", "mlp"), see <see cref="Modules.DenoiserNetwork.Kind"/>.</summary>
    public required string ModelKind { get; init; }

    /// <summary>Network configuration JSON, see <see cref="Modules.DenoiserNetwork.ConfigJson"/>.</summary>
    public required string ModelConfig { get; init; }

    /// <summary>The trainer's options, schedule and prediction type included.</summary>
    public required DdpmTrainerOptions Trainer { get; init; }

    /// <summary>Optimisation steps done.</summary>
    public required long Step { get; init; }

    /// <summary>Identity of the training data, checked on resume.</summary>
    public required DataFingerprint Data { get; init; }

    /// <summary>Class names of a class-conditional model, or null.</summary>
    public IReadOnlyList<string>? ClassNames { get; init; }

    /// <summary>SHA-256 (hex) of each binary entry, checked on load to catch corrupt files.</summary>
    public required IReadOnlyDictionary<string, string> EntryHashes { get; init; }

    /// <summary>When the file was written (UTC).</summary>
    public DateTime CreatedUtc { get; init; } = DateTime.UtcNow;
}

/// <summary>What identifies a training set: size, sample shape, class count and a SHA-256 of its values and labels.</summary>
/// <param name="Count">Number of examples.</param>
/// <param name="SampleShape">Shape of one example.</param>
/// <param name="ClassCount">Number of classes (0 if unlabeled).</param>
/// <param name="Sha256">Hex SHA-256 over the float values and the labels.</param>
public sealed record DataFingerprint(int Count, int[] SampleShape, int ClassCount, string Sha256)
{
    /// <summary>The fingerprint of a data set whose examples have the shape <paramref name="sampleShape"/>.</summary>
    public static DataFingerprint Of(Diffusion.ML.Data.ImageDataset data, int[] sampleShape)
    {
        ArgumentNullException.ThrowIfNull(data);
        using var sha = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        sha.AppendData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(data.Pixels.AsSpan()));
        if (data.Labels is { } labels) sha.AppendData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(labels.AsSpan()));
        return new DataFingerprint(data.Count, sampleShape, data.ClassCount, Convert.ToHexStringLower(sha.GetHashAndReset()));
    }

    /// <summary>Whether two fingerprints describe the same data (records compare arrays by reference, so this compares contents).</summary>
    public bool SameDataAs(DataFingerprint other)
        => Count == other.Count && ClassCount == other.ClassCount && Sha256 == other.Sha256 && SampleShape.SequenceEqual(other.SampleShape);

    /// <inheritdoc />
    public override string ToString() => $"{Count} x [{string.Join(", ", SampleShape)}], {ClassCount} classes, sha256 {Sha256[..12]}…";
}
