namespace Diffusion.ML.TorchSharp.Modules;

/// <summary>
/// Architecture of an <see cref="MlpDenoiser"/> for low-dimensional toy data (2-D point clouds by default).
/// Stored in checkpoints through <see cref="ToJson"/> / <see cref="FromJson"/>.
/// </summary>
public sealed class MlpDenoiserOptions
{
    /// <summary>Dimension D of a data point. Default 2.</summary>
    public int InputDim { get; init; } = 2;

    /// <summary>Width of every hidden layer, and of the time/class embedding. Must be even (it is also the size of
    /// the sinusoidal features). Default 128.</summary>
    public int HiddenWidth { get; init; } = 128;

    /// <summary>Number of hidden layers (Linear + SiLU), the first taking the input. Default 3.</summary>
    public int HiddenLayers { get; init; } = 3;

    /// <summary>Number of classes; 0 = unconditional. When positive the class embedding has <c>ClassCount + 1</c>
    /// rows, index <c>ClassCount</c> being the null class for classifier-free guidance. Default 0.</summary>
    public int ClassCount { get; init; }

    /// <summary>Checks that the options describe a buildable network.</summary>
    /// <exception cref="ArgumentException">A value is out of range; the message says which.</exception>
    public void Validate()
    {
        if (InputDim < 1)
        {
            throw new ArgumentException($"InputDim must be at least 1; got {InputDim}.", nameof(InputDim));
        }
        if (HiddenWidth < 2 || HiddenWidth % 2 != 0)
        {
            throw new ArgumentException(
                $"HiddenWidth must be a positive even number (it is the sinusoidal embedding size); got {HiddenWidth}.", nameof(HiddenWidth));
        }
        if (HiddenLayers < 1)
        {
            throw new ArgumentException($"HiddenLayers must be at least 1; got {HiddenLayers}.", nameof(HiddenLayers));
        }
        if (ClassCount < 0)
        {
            throw new ArgumentException($"ClassCount must be 0 (unconditional) or positive; got {ClassCount}.", nameof(ClassCount));
        }
    }

    /// <summary>Serializes the options to compact JSON (camelCase property names).</summary>
    public string ToJson() => ConfigSerialization.Serialize(this);

    /// <summary>Parses options written by <see cref="ToJson"/> and validates them; missing properties take their defaults.</summary>
    /// <param name="json">The JSON text.</param>
    /// <exception cref="ArgumentException">Malformed JSON or invalid options.</exception>
    public static MlpDenoiserOptions FromJson(string json)
    {
        var options = ConfigSerialization.Deserialize<MlpDenoiserOptions>(json, nameof(json));
        options.Validate();
        return options;
    }
}
