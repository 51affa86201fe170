using System.Text.Json.Serialization;

namespace Diffusion.ML.TorchSharp.Modules;

/// <summary>
/// Architecture of a <see cref="UNet"/>. The defaults are the reference 28x28x1 (MNIST-like) configuration,
/// about 6.8M parameters. Stored in checkpoints through <see cref="ToJson"/> / <see cref="FromJson"/>.
/// </summary>
public sealed record UNetOptions
{
    /// <summary>Channels of the images (1 = grayscale, 3 = RGB). Default 1.</summary>
    public int ImageChannels { get; init; } = 1;

    /// <summary>Height and width of the square images in pixels. Default 28.</summary>
    public int ImageSize { get; init; } = 28;

    /// <summary>Channels of the first level; level <c>i</c> has <c>BaseChannels * ChannelMultipliers[i]</c>.
    /// Also the dimension of the sinusoidal time embedding, so it must be even. Default 64.</summary>
    public int BaseChannels { get; init; } = 64;

    /// <summary>Channel multiplier per resolution level; the image is halved between consecutive levels.
    /// Default [1, 2, 2] (28 -&gt; 14 -&gt; 7 pixels).</summary>
    public IReadOnlyList<int> ChannelMultipliers { get; init; } = [1, 2, 2];

    /// <summary>Residual blocks per level on the down path; the up path has one more per level. Default 2.</summary>
    public int ResidualBlocksPerLevel { get; init; } = 2;

    /// <summary>Resolutions in pixels (each must be one the UNet's levels runs at) where a self-attention block
    /// follows every residual block. The middle block always has attention. Default [14, 7].</summary>
    public IReadOnlyList<int> AttentionResolutions { get; init; } = [14, 7];

    /// <summary>Heads of every self-attention block; channels there must be divisible by it. Default 4.</summary>
    public int AttentionHeads { get; init; } = 4;

    /// <summary>Groups of every GroupNorm; <see cref="BaseChannels"/> must be divisible by it. Default 32.</summary>
    public int GroupNormGroups { get; init; } = 32;

    /// <summary>Dropout probability inside residual blocks (active in training mode only). Default 0.0.</summary>
    public double Dropout { get; init; }

    /// <summary>Number of classes for class-conditional generation; 0 = unconditional. When positive the
    /// class embedding has <c>ClassCount + 1</c> rows, index <c>ClassCount</c> being the null class for
    /// classifier-free guidance. Default 0.</summary>
    public int ClassCount { get; init; }

    /// <summary>Width of the time-embedding MLP (and of the conditioning vector) as a multiple of
    /// <see cref="BaseChannels"/>. Default 4.</summary>
    public int TimeEmbeddingMultiplier { get; init; } = 4;

    /// <summary>When true the network outputs <c>2 * ImageChannels</c> channels (noise and variance
    /// interpolation, improved DDPM). Default false.</summary>
    public bool LearnSigma { get; init; }

    /// <summary>Channels the network outputs: <see cref="ImageChannels"/>, doubled when <see cref="LearnSigma"/>.</summary>
    [JsonIgnore]
    public int OutputChannels => LearnSigma ? 2 * ImageChannels : ImageChannels;

    /// <summary>Width of the time (and class) embedding: <c>BaseChannels * TimeEmbeddingMultiplier</c>.</summary>
    [JsonIgnore]
    public int EmbeddingDim => BaseChannels * TimeEmbeddingMultiplier;

    /// <summary>Resolution in pixels of each level, e.g. [28, 14, 7] for the defaults.</summary>
    public int[] LevelResolutions()
    {
        var count = ChannelMultipliers?.Count ?? 0;
        var resolutions = new int[count];
        for (var i = 0; i < count; i++)
        {
            resolutions[i] = ImageSize >> i;
        }
        return resolutions;
    }

    /// <summary>Checks that the options describe a buildable network.</summary>
    /// <exception cref="ArgumentException">A value is out of range or values are inconsistent; the message says which.</exception>
    public void Validate()
    {
        Require(ImageChannels >= 1, nameof(ImageChannels), $"ImageChannels must be at least 1; got {ImageChannels}.");
        Require(ImageSize >= 1, nameof(ImageSize), $"ImageSize must be at least 1; got {ImageSize}.");
        Require(BaseChannels >= 2 && BaseChannels % 2 == 0, nameof(BaseChannels),
            $"BaseChannels must be a positive even number (it is the sinusoidal embedding size); got {BaseChannels}.");
        Require(ChannelMultipliers is { Count: > 0 }, nameof(ChannelMultipliers), "ChannelMultipliers must list at least one level.");
        Require(ChannelMultipliers!.All(m => m >= 1), nameof(ChannelMultipliers),
            $"ChannelMultipliers must all be at least 1; got [{string.Join(", ", ChannelMultipliers!)}].");
        Require(ResidualBlocksPerLevel >= 1, nameof(ResidualBlocksPerLevel),
            $"ResidualBlocksPerLevel must be at least 1; got {ResidualBlocksPerLevel}.");
        Require(AttentionResolutions is not null, nameof(AttentionResolutions), "AttentionResolutions must not be null (use [] for none).");
        Require(AttentionHeads >= 1, nameof(AttentionHeads), $"AttentionHeads must be at least 1; got {AttentionHeads}.");
        Require(GroupNormGroups >= 1, nameof(GroupNormGroups), $"GroupNormGroups must be at least 1; got {GroupNormGroups}.");
        Require(BaseChannels % GroupNormGroups == 0, nameof(GroupNormGroups),
            $"BaseChannels ({BaseChannels}) must be divisible by GroupNormGroups ({GroupNormGroups}); every GroupNorm sees a multiple of BaseChannels.");
        Require(Dropout >= 0.0 && Dropout < 1.0, nameof(Dropout), $"Dropout must be in [0, 1); got {Dropout}.");
        Require(ClassCount >= 0, nameof(ClassCount), $"ClassCount must be 0 (unconditional) or positive; got {ClassCount}.");
        Require(TimeEmbeddingMultiplier >= 1, nameof(TimeEmbeddingMultiplier),
            $"TimeEmbeddingMultiplier must be at least 1; got {TimeEmbeddingMultiplier}.");

        var levels = ChannelMultipliers.Count;
        var factor = 1 << (levels - 1);
        Require(ImageSize % factor == 0, nameof(ImageSize),
            $"ImageSize ({ImageSize}) must be divisible by 2^(levels-1) = {factor} for {levels} levels (ChannelMultipliers has {levels} entries).");

        var resolutions = LevelResolutions();
        foreach (var r in AttentionResolutions!)
        {
            var level = Array.IndexOf(resolutions, r);
            Require(level >= 0, nameof(AttentionResolutions),
                $"AttentionResolutions contains {r}, but the levels run at [{string.Join(", ", resolutions)}] pixels.");
            var channels = BaseChannels * ChannelMultipliers[level];
            Require(channels % AttentionHeads == 0, nameof(AttentionHeads),
                $"Attention at {r} pixels has {channels} channels, which is not divisible by AttentionHeads ({AttentionHeads}).");
        }
        var middleChannels = BaseChannels * ChannelMultipliers[^1];
        Require(middleChannels % AttentionHeads == 0, nameof(AttentionHeads),
            $"The middle attention block has {middleChannels} channels, which is not divisible by AttentionHeads ({AttentionHeads}).");
    }

    /// <summary>Serializes the options to compact JSON (camelCase property names).</summary>
    public string ToJson() => ConfigSerialization.Serialize(this);

    /// <summary>Parses options written by <see cref="ToJson"/> and validates them; missing properties take their defaults.</summary>
    /// <param name="json">The JSON text.</param>
    /// <exception cref="ArgumentException">Malformed JSON or invalid options.</exception>
    public static UNetOptions FromJson(string json)
    {
        var options = ConfigSerialization.Deserialize<UNetOptions>(json, nameof(json));
        options.Validate();
        return options;
    }

    private static void Require(bool condition, string paramName, string message)
    {
        if (!condition)
        {
            throw new ArgumentException(message, paramName);
        }
    }
}
