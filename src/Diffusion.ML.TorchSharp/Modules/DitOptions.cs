using System.Text.Json.Serialization;

namespace Diffusion.ML.TorchSharp.Modules;

/// <summary>
/// Architecture of a <see cref="Dit"/> (Peebles and Xie 2022, "Scalable Diffusion Models with Transformers"). The defaults
/// are DiT-S/2 (hidden 384, depth 12, 6 heads, patch 2) for 28x28x1 images. <see cref="Preset"/> gives the paper's
/// S, B, L and XL models (Table 1). Stored in checkpoints through <see cref="ToJson"/> / <see cref="FromJson"/>.
/// </summary>
public sealed record DitOptions
{
    /// <summary>Channels of the images (1 = grayscale, 3 = RGB, 4 = Stable Diffusion latents). Default 1.</summary>
    public int ImageChannels { get; init; } = 1;

    /// <summary>Height of the images in pixels; divisible by <see cref="PatchSize"/>. Default 28.</summary>
    public int ImageHeight { get; init; } = 28;

    /// <summary>Width of the images in pixels; divisible by <see cref="PatchSize"/>. Default 28.</summary>
    public int ImageWidth { get; init; } = 28;

    /// <summary>Side p of the square patches that become tokens (the paper uses 2, 4 and 8). Default 2.</summary>
    public int PatchSize { get; init; } = 2;

    /// <summary>Width d of the tokens and of the conditioning vector; divisible by 4 (the 2-D sin-cos position embedding
    /// has four quarters) and by <see cref="Heads"/>. Default 384 (DiT-S).</summary>
    public int HiddenSize { get; init; } = 384;

    /// <summary>Number N of DiT blocks. Default 12.</summary>
    public int Depth { get; init; } = 12;

    /// <summary>Attention heads of every block. Default 6 (DiT-S).</summary>
    public int Heads { get; init; } = 6;

    /// <summary>Width of each block's MLP as a multiple of <see cref="HiddenSize"/> (truncated to an integer, as in the
    /// reference implementation). Default 4.</summary>
    public double MlpRatio { get; init; } = 4.0;

    /// <summary>Number of sinusoidal timestep features fed to the timestep MLP (the reference's
    /// <c>frequency_embedding_size</c>); even. Default 256.</summary>
    public int FrequencyEmbeddingSize { get; init; } = 256;

    /// <summary>Number of classes for class-conditional generation; 0 = unconditional. When positive the class embedding
    /// has <c>ClassCount + 1</c> rows, index <c>ClassCount</c> being the null class for classifier-free guidance. Default 0.</summary>
    public int ClassCount { get; init; }

    /// <summary>When true the network outputs <c>2 * ImageChannels</c> channels (noise and variance interpolation v of
    /// improved DDPM, as the paper's models). Default false.</summary>
    public bool LearnSigma { get; init; }

    /// <summary>Channels the network outputs: <see cref="ImageChannels"/>, doubled when <see cref="LearnSigma"/>.</summary>
    [JsonIgnore]
    public int OutputChannels => LearnSigma ? 2 * ImageChannels : ImageChannels;

    /// <summary>Rows of the token grid, <c>ImageHeight / PatchSize</c> (0 while <see cref="PatchSize"/> is not positive).</summary>
    [JsonIgnore]
    public int GridHeight => PatchSize > 0 ? ImageHeight / PatchSize : 0;

    /// <summary>Columns of the token grid, <c>ImageWidth / PatchSize</c> (0 while <see cref="PatchSize"/> is not positive).</summary>
    [JsonIgnore]
    public int GridWidth => PatchSize > 0 ? ImageWidth / PatchSize : 0;

    /// <summary>Number of tokens T = (H / p)(W / p) (paper Sec. 3.2, "Patchify").</summary>
    [JsonIgnore]
    public int TokenCount => GridHeight * GridWidth;

    /// <summary>Hidden width of each block's MLP: <c>(int)(HiddenSize * MlpRatio)</c>.</summary>
    [JsonIgnore]
    public int MlpHiddenSize => (int)(HiddenSize * MlpRatio);

    /// <summary>The model sizes of the paper (Table 1): S, B, L and XL.</summary>
    public static IReadOnlyList<string> PresetNames { get; } = ["S", "B", "L", "XL"];

    /// <summary>
    /// One of the paper's configurations (Table 1): S (hidden 384, depth 12, 6 heads), B (768, 12, 12), L (1024, 24, 16)
    /// or XL (1152, 28, 16), with patch size p (the paper's are 2, 4 and 8; "DiT-B/4" is <c>Preset("B", 4)</c>).
    /// </summary>
    /// <param name="size">"S", "B", "L" or "XL" (case-insensitive).</param>
    /// <param name="patchSize">Patch side p; must divide the image height and width.</param>
    /// <param name="imageChannels">Image channels (the paper's latents have 4).</param>
    /// <param name="imageHeight">Image height (the paper's 256x256 images have 32x32 latents).</param>
    /// <param name="imageWidth">Image width.</param>
    /// <param name="classCount">Classes (the paper's ImageNet models have 1000); 0 = unconditional.</param>
    /// <param name="learnSigma">Whether the network also outputs the variance interpolation (the paper's models do).</param>
    /// <returns>Validated options.</returns>
    /// <exception cref="ArgumentException">Unknown size or invalid combination; the message says which.</exception>
    public static DitOptions Preset(string size, int patchSize, int imageChannels = 4, int imageHeight = 32, int imageWidth = 32,
        int classCount = 0, bool learnSigma = false)
    {
        ArgumentNullException.ThrowIfNull(size);
        // Peebles and Xie 2022, Table 1: layers N, hidden size d, heads.
        var (hidden, depth, heads) = size.ToUpperInvariant() switch
        {
            "S" => (384, 12, 6),
            "B" => (768, 12, 12),
            "L" => (1024, 24, 16),
            "XL" => (1152, 28, 16),
            _ => throw new ArgumentException(
                $"Unknown DiT size '{size}'; expected one of {string.Join(", ", PresetNames)} (Peebles and Xie 2022, Table 1).", nameof(size)),
        };
        var options = new DitOptions
        {
            ImageChannels = imageChannels, ImageHeight = imageHeight, ImageWidth = imageWidth, PatchSize = patchSize,
            HiddenSize = hidden, Depth = depth, Heads = heads, ClassCount = classCount, LearnSigma = learnSigma,
        };
        options.Validate();
        return options;
    }

    /// <summary>Checks that the options describe a buildable network.</summary>
    /// <exception cref="ArgumentException">A value is out of range or values are inconsistent; the message says which and how to fix it.</exception>
    public void Validate()
    {
        Require(ImageChannels >= 1, nameof(ImageChannels), $"ImageChannels must be at least 1; got {ImageChannels}.");
        Require(ImageHeight >= 1 && ImageWidth >= 1, nameof(ImageHeight),
            $"ImageHeight and ImageWidth must be at least 1; got {ImageHeight}x{ImageWidth}.");
        Require(PatchSize >= 1, nameof(PatchSize), $"PatchSize must be at least 1; got {PatchSize}.");
        Require(ImageHeight % PatchSize == 0 && ImageWidth % PatchSize == 0, nameof(PatchSize),
            $"The image size {ImageHeight}x{ImageWidth} is not divisible by PatchSize {PatchSize}; choose a patch size that divides "
            + $"both sides ({DividingPatchSizes()}) or resize the images.");
        Require(HiddenSize >= 4 && HiddenSize % 4 == 0, nameof(HiddenSize),
            $"HiddenSize must be a positive multiple of 4 (the 2-D sin-cos position embedding splits it into four quarters); got {HiddenSize}.");
        Require(Heads >= 1, nameof(Heads), $"Heads must be at least 1; got {Heads}.");
        Require(HiddenSize % Heads == 0, nameof(Heads),
            $"HiddenSize ({HiddenSize}) must be divisible by Heads ({Heads}); e.g. use {string.Join(" or ", HeadCountsDividingHidden())} heads.");
        Require(Depth >= 1, nameof(Depth), $"Depth must be at least 1; got {Depth}.");
        Require(double.IsFinite(MlpRatio) && MlpRatio > 0 && MlpHiddenSize >= 1, nameof(MlpRatio),
            $"MlpRatio must be positive and give an MLP at least 1 wide (HiddenSize * MlpRatio >= 1); got {MlpRatio}.");
        Require(FrequencyEmbeddingSize >= 2 && FrequencyEmbeddingSize % 2 == 0, nameof(FrequencyEmbeddingSize),
            $"FrequencyEmbeddingSize must be a positive even number (half sines, half cosines); got {FrequencyEmbeddingSize}.");
        Require(ClassCount >= 0, nameof(ClassCount), $"ClassCount must be 0 (unconditional) or positive; got {ClassCount}.");
    }

    /// <summary>Serializes the options to compact JSON (camelCase property names).</summary>
    public string ToJson() => ConfigSerialization.Serialize(this);

    /// <summary>Parses options written by <see cref="ToJson"/> and validates them; missing properties take their defaults.</summary>
    /// <param name="json">The JSON text.</param>
    /// <exception cref="ArgumentException">Malformed JSON or invalid options.</exception>
    public static DitOptions FromJson(string json)
    {
        var options = ConfigSerialization.Deserialize<DitOptions>(json, nameof(json));
        options.Validate();
        return options;
    }

    private string DividingPatchSizes()
    {
        var sizes = Enumerable.Range(1, Math.Max(1, Math.Min(ImageHeight, ImageWidth)))
            .Where(p => ImageHeight % p == 0 && ImageWidth % p == 0).Take(6);
        return $"e.g. {string.Join(", ", sizes)}";
    }

    private IEnumerable<int> HeadCountsDividingHidden()
        => Enumerable.Range(1, Math.Max(1, Math.Min(HiddenSize, 32))).Where(h => HiddenSize % h == 0).Reverse().Take(3);

    private static void Require(bool condition, string paramName, string message)
    {
        if (!condition)
        {
            throw new ArgumentException(message, paramName);
        }
    }
}
