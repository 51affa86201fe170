using System.Text.Json.Serialization;
using Diffusion.ML.TorchSharp.Modules;

namespace Diffusion.ML.TorchSharp.Autoencoders;

/// <summary>
/// A one-hidden-layer dense autoencoder as in the papers of its variants (<see cref="ClassicAutoencoderKind"/>):
/// h = s(W x + b), x_hat = W' h + b', on flattened images; stored in checkpoints as JSON.
/// </summary>
public sealed record ClassicAutoencoderOptions
{
    /// <summary>The regularisation. Default <see cref="ClassicAutoencoderKind.Plain"/>.</summary>
    public ClassicAutoencoderKind Kind { get; init; } = ClassicAutoencoderKind.Plain;

    /// <summary>Image channels. Default 1.</summary>
    public int ImageChannels { get; init; } = 1;

    /// <summary>Image height. Default 28.</summary>
    public int ImageHeight { get; init; } = 28;

    /// <summary>Image width. Default 28.</summary>
    public int ImageWidth { get; init; } = 28;

    /// <summary>Hidden units (the code size). Default 256.</summary>
    public int HiddenUnits { get; init; } = 256;

    /// <summary>Denoising: the corruption. Default <see cref="InputCorruption.Masking"/>.</summary>
    public InputCorruption Corruption { get; init; } = InputCorruption.Masking;

    /// <summary>Denoising: the masking probability nu, or the Gaussian sigma (data scale [-1, 1]). Default 0.25.</summary>
    public double CorruptionLevel { get; init; } = 0.25;

    /// <summary>Sparse: the target mean activation rho. Default 0.05.</summary>
    public double SparsityTarget { get; init; } = 0.05;

    /// <summary>Sparse: the weight beta of the KL penalty. Default 1.</summary>
    public double SparsityWeight { get; init; } = 1.0;

    /// <summary>k-sparse: the activations kept per sample. Default 25.</summary>
    public int K { get; init; } = 25;

    /// <summary>Contractive: the weight lambda of ||J_f(x)||_F^2. Default 0.1.</summary>
    public double ContractiveWeight { get; init; } = 0.1;

    /// <summary>Input dimension C H W.</summary>
    [JsonIgnore]
    public int InputDimension => ImageChannels * ImageHeight * ImageWidth;

    /// <summary>Checks the options and says what is wrong.</summary>
    /// <exception cref="ArgumentException">A value is out of range.</exception>
    public void Validate()
    {
        if (ImageChannels < 1 || ImageHeight < 1 || ImageWidth < 1)
            throw new ArgumentException($"The image shape must be positive; got {ImageChannels}x{ImageHeight}x{ImageWidth}.", nameof(ImageChannels));
        if (HiddenUnits < 1) throw new ArgumentException($"HiddenUnits must be >= 1, got {HiddenUnits}.", nameof(HiddenUnits));
        if (!Enum.IsDefined(Kind)) throw new ArgumentException($"Unknown autoencoder kind {Kind}.", nameof(Kind));
        if (Corruption == InputCorruption.Masking && !(CorruptionLevel >= 0 && CorruptionLevel < 1))
            throw new ArgumentException($"The masking probability must lie in [0, 1), got {CorruptionLevel}.", nameof(CorruptionLevel));
        if (Corruption == InputCorruption.Gaussian && !(CorruptionLevel >= 0 && double.IsFinite(CorruptionLevel)))
            throw new ArgumentException($"The Gaussian corruption sigma must be finite and >= 0, got {CorruptionLevel}.", nameof(CorruptionLevel));
        if (!(SparsityTarget > 0 && SparsityTarget < 1)) throw new ArgumentException($"SparsityTarget must lie in (0, 1), got {SparsityTarget}.", nameof(SparsityTarget));
        if (!(SparsityWeight >= 0 && double.IsFinite(SparsityWeight))) throw new ArgumentException($"SparsityWeight must be finite and >= 0, got {SparsityWeight}.", nameof(SparsityWeight));
        if (Kind == ClassicAutoencoderKind.KSparse && (K < 1 || K > HiddenUnits))
            throw new ArgumentException($"K must lie in 1..HiddenUnits ({HiddenUnits}), got {K}.", nameof(K));
        if (!(ContractiveWeight >= 0 && double.IsFinite(ContractiveWeight))) throw new ArgumentException($"ContractiveWeight must be finite and >= 0, got {ContractiveWeight}.", nameof(ContractiveWeight));
    }

    /// <summary>Compact camelCase JSON.</summary>
    public string ToJson() => ConfigSerialization.Serialize(this);

    /// <summary>Parses and validates options written by <see cref="ToJson"/>.</summary>
    /// <param name="json">The JSON text.</param>
    /// <exception cref="ArgumentException">Malformed JSON or invalid options.</exception>
    public static ClassicAutoencoderOptions FromJson(string json)
    {
        var options = ConfigSerialization.Deserialize<ClassicAutoencoderOptions>(json, nameof(json));
        options.Validate();
        return options;
    }
}
