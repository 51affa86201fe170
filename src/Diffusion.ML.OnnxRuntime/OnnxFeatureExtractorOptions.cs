namespace Diffusion.ML.OnnxRuntime;

/// <summary>
/// How an ONNX feature network (e.g. an Inception-v3 exported for FID) maps onto
/// <see cref="Diffusion.ML.Evaluation.IFeatureExtractor"/>: output names, the pixel range it expects, and the image shape
/// the caller gives when it differs from the network's input (grey images are repeated to 3 channels and resized bilinearly).
/// </summary>
public sealed record OnnxFeatureExtractorOptions
{
    /// <summary>Name used in reports. Null takes the file name without extension. Default null.</summary>
    public string? Name { get; init; }

    /// <summary>Name of the float32 image input [B, C, H, W]. Null takes the model's only input. Default null.</summary>
    public string? InputName { get; init; }

    /// <summary>Name of the feature output ([B, D] or [B, D, 1, 1]). Null takes the model's only output. Default null.</summary>
    public string? FeatureOutputName { get; init; }

    /// <summary>Name of a class-logit output [B, C], for the Inception Score and class counts. Null: none. Default null.</summary>
    public string? LogitsOutputName { get; init; }

    /// <summary>Number of logits per image; required when <see cref="LogitsOutputName"/> is set.</summary>
    public int ClassCount { get; init; }

    /// <summary>
    /// Length of one feature vector. Null reads it from the output's static shape (the product of the dimensions after the
    /// batch); set it when the model declares the feature dimension symbolically. Default null.
    /// </summary>
    public int? FeatureDimension { get; init; }

    /// <summary>
    /// Shape [C, H, W] of the images the caller passes. Null means the network's own input shape. C may be 1 where the
    /// network takes 3 channels (the grey channel is repeated), and H, W may differ (bilinear resize, half-pixel centres,
    /// as <c>torch.nn.functional.interpolate(mode="bilinear", align_corners=False)</c> without antialiasing). Default null.
    /// </summary>
    public IReadOnlyList<int>? ImageShape { get; init; }

    /// <summary>
    /// The pixel value the network expects for black; images in [-1, 1] are mapped linearly onto
    /// [<see cref="InputMinimum"/>, <see cref="InputMaximum"/>]. Default -1.
    /// </summary>
    public float InputMinimum { get; init; } = -1f;

    /// <summary>The pixel value the network expects for white (e.g. 1, or 255). Default 1.</summary>
    public float InputMaximum { get; init; } = 1f;

    /// <summary>ONNX Runtime intra-op threads; 0 lets ONNX Runtime choose. Default 0.</summary>
    public int IntraOpThreads { get; init; }
}
