using Diffusion.ML.TorchSharp.Modules;

namespace Diffusion.ML.TorchSharp.Evaluation;

/// <summary>
/// Architecture of a <see cref="FeatureClassifier"/>: stages of two 3x3 convolutions (each BatchNorm + ReLU) followed by
/// 2x2 max pooling, then a fully connected feature layer (ReLU) and a linear layer to the class logits. The defaults
/// (1x28x28 input, stages of 16 and 32 channels, 128 features, 10 classes) are the Fashion-MNIST feature network.
/// Stored in feature-network files through <see cref="ToJson"/> / <see cref="FromJson"/>.
/// </summary>
public sealed class FeatureClassifierOptions
{
    /// <summary>Image channels C. Default 1.</summary>
    public int InputChannels { get; init; } = 1;

    /// <summary>Image height and width (square images); must be divisible by 2^(number of stages). Default 28.</summary>
    public int ImageSize { get; init; } = 28;

    /// <summary>Output channels of each convolution stage (two convolutions, then 2x2 max pooling). Default [16, 32].</summary>
    public int[] StageChannels { get; init; } = [16, 32];

    /// <summary>Width D of the penultimate fully connected layer, whose ReLU outputs are the features. Default 128.</summary>
    public int FeatureDimension { get; init; } = 128;

    /// <summary>Number of classes (logits). Default 10.</summary>
    public int ClassCount { get; init; } = 10;

    /// <summary>Dropout probability after each pooling layer (training only). Default 0.1.</summary>
    public double ConvDropout { get; init; } = 0.1;

    /// <summary>Dropout probability on the features before the logit layer (training only; features are unaffected in eval mode). Default 0.3.</summary>
    public double FeatureDropout { get; init; } = 0.3;

    /// <summary>Checks that the options describe a buildable network.</summary>
    /// <exception cref="ArgumentException">A value is out of range; the message says which.</exception>
    public void Validate()
    {
        if (InputChannels < 1) throw new ArgumentException($"InputChannels must be at least 1; got {InputChannels}.", nameof(InputChannels));
        if (StageChannels is null || StageChannels.Length == 0 || StageChannels.Any(c => c < 1))
            throw new ArgumentException("StageChannels must list at least one positive channel count.", nameof(StageChannels));
        int factor = 1 << StageChannels.Length;
        if (ImageSize < factor || ImageSize % factor != 0)
            throw new ArgumentException($"ImageSize ({ImageSize}) must be a positive multiple of {factor} (2^{StageChannels.Length} stages of 2x2 pooling).", nameof(ImageSize));
        if (FeatureDimension < 1) throw new ArgumentException($"FeatureDimension must be at least 1; got {FeatureDimension}.", nameof(FeatureDimension));
        if (ClassCount < 2) throw new ArgumentException($"ClassCount must be at least 2; got {ClassCount}.", nameof(ClassCount));
        if (ConvDropout is < 0 or >= 1) throw new ArgumentException($"ConvDropout must be in [0, 1); got {ConvDropout}.", nameof(ConvDropout));
        if (FeatureDropout is < 0 or >= 1) throw new ArgumentException($"FeatureDropout must be in [0, 1); got {FeatureDropout}.", nameof(FeatureDropout));
    }

    /// <summary>Serializes the options to compact JSON (camelCase property names).</summary>
    public string ToJson() => ConfigSerialization.Serialize(this);

    /// <summary>Parses options written by <see cref="ToJson"/> and validates them; missing properties take their defaults.</summary>
    /// <param name="json">The JSON text.</param>
    /// <exception cref="ArgumentException">Malformed JSON or invalid options.</exception>
    public static FeatureClassifierOptions FromJson(string json)
    {
        var options = ConfigSerialization.Deserialize<FeatureClassifierOptions>(json, nameof(json));
        options.Validate();
        return options;
    }
}
