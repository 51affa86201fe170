namespace Diffusion.ML.TorchSharp.Modules;

/// <summary>Architecture of a <see cref="NoiseConditionalScoreMlp"/> for low-dimensional data (2-D point clouds by default).</summary>
public sealed class NoiseConditionalScoreMlpOptions
{
    /// <summary>Dimension D of a data point. Default 2.</summary>
    public int InputDim { get; init; } = 2;

    /// <summary>Width of every hidden layer and of the noise-level embedding. Must be even (it is also the size of the
    /// sinusoidal features). Default 128.</summary>
    public int HiddenWidth { get; init; } = 128;

    /// <summary>Number of hidden layers (Linear + SiLU), the first taking the input. Default 3.</summary>
    public int HiddenLayers { get; init; } = 3;

    /// <summary>
    /// When true (default) the hidden layers also see an embedding of log sigma, so the network may learn a different field
    /// per level; when false the network is NCSNv2's unconditional form s(x, sigma) = f(x) / sigma (Song and Ermon 2020, sec. 3.3).
    /// </summary>
    public bool ConditionOnSigma { get; init; } = true;

    /// <summary>
    /// When true (default) the input is scaled by c_in = 1 / sqrt(sigma^2 + DataStandardDeviation^2) before the first layer,
    /// the input preconditioning of Karras et al. 2022 (EDM, Table 1), so every level feeds the network values of unit size.
    /// </summary>
    public bool ScaleInput { get; init; } = true;

    /// <summary>sigma_data of the input scaling (<see cref="ScaleInput"/>): the data's standard deviation per coordinate, roughly. Default 1.</summary>
    public double DataStandardDeviation { get; init; } = 1;

    /// <summary>
    /// The embedded quantity is c = NoiseEmbeddingScale * ln(sigma), fed to the DDPM sinusoidal embedding. The default 250 maps
    /// sigma from 0.01 to 10 onto about 1700 units, the span of DDPM's 1000 timesteps that embedding was designed for.
    /// </summary>
    public double NoiseEmbeddingScale { get; init; } = 250;

    /// <summary>Checks that the options describe a buildable network.</summary>
    /// <exception cref="ArgumentException">A value is out of range; the message says which.</exception>
    public void Validate()
    {
        if (InputDim < 1) throw new ArgumentException($"InputDim must be at least 1; got {InputDim}.", nameof(InputDim));
        if (HiddenWidth < 2 || HiddenWidth % 2 != 0)
            throw new ArgumentException($"HiddenWidth must be a positive even number (it is the sinusoidal embedding size); got {HiddenWidth}.", nameof(HiddenWidth));
        if (HiddenLayers < 1) throw new ArgumentException($"HiddenLayers must be at least 1; got {HiddenLayers}.", nameof(HiddenLayers));
        if (!(DataStandardDeviation > 0) || !double.IsFinite(DataStandardDeviation))
            throw new ArgumentException($"DataStandardDeviation must be positive and finite; got {DataStandardDeviation}.", nameof(DataStandardDeviation));
        if (!(NoiseEmbeddingScale > 0) || !double.IsFinite(NoiseEmbeddingScale))
            throw new ArgumentException($"NoiseEmbeddingScale must be positive and finite; got {NoiseEmbeddingScale}.", nameof(NoiseEmbeddingScale));
    }

    /// <summary>Serializes the options to compact JSON (camelCase property names).</summary>
    public string ToJson() => ConfigSerialization.Serialize(this);

    /// <summary>Parses options written by <see cref="ToJson"/> and validates them; missing properties take their defaults.</summary>
    /// <param name="json">The JSON text.</param>
    /// <exception cref="ArgumentException">Malformed JSON or invalid options.</exception>
    public static NoiseConditionalScoreMlpOptions FromJson(string json)
    {
        var options = ConfigSerialization.Deserialize<NoiseConditionalScoreMlpOptions>(json, nameof(json));
        options.Validate();
        return options;
    }
}
