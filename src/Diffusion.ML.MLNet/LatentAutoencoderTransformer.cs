using Microsoft.ML;

namespace Diffusion.ML.MLNet;

/// <summary>
/// Base of the encoder transformers of the autoencoder estimators (<see cref="VaeTransformer"/>,
/// <see cref="VqVaeTransformer"/>): an image column in <see cref="PixelRange"/> to the column <see cref="OutputColumnName"/>,
/// running on ONNX Runtime through ML.NET's own transformers (saved with the pipeline).
/// </summary>
public abstract class LatentAutoencoderTransformer : DiffusionTransformer
{
    private readonly string _modelName;

    private protected LatentAutoencoderTransformer(ITransformer inner, string modelName, int[] imageShape, int[] latentShape,
        string inputColumnName, string outputColumnName, PixelRange pixelRange)
        : base(inner)
    {
        _modelName = modelName;
        ImageShape = imageShape;
        LatentShape = latentShape;
        InputColumnName = inputColumnName;
        OutputColumnName = outputColumnName;
        PixelRange = pixelRange;
    }

    /// <summary>Image shape [C, H, W].</summary>
    public IReadOnlyList<int> ImageShape { get; }

    /// <summary>Latent shape [channels, h, w] (a VQ-VAE's: [code dimension, h, w]).</summary>
    public IReadOnlyList<int> LatentShape { get; }

    /// <summary>The image column read.</summary>
    public string InputColumnName { get; }

    /// <summary>The column written.</summary>
    public string OutputColumnName { get; }

    /// <summary>Range of the input pixels (and, by default, of the decoder's output).</summary>
    public PixelRange PixelRange { get; }

    /// <summary>Values per image, C H W.</summary>
    internal int ImageSize => ImageShape.Aggregate(1, (a, b) => a * b);

    /// <summary>Checks the image column: a float vector of <see cref="ImageSize"/> values.</summary>
    private protected override void CheckInput(DataViewSchema inputSchema)
    {
        var type = ImageColumns.RequireFloatVector(inputSchema, InputColumnName);
        if (type.Size != ImageSize)
            throw new ArgumentException($"Column '{InputColumnName}' has vectors of {type.Size} values; this {_modelName} encodes {string.Join("x", ImageShape)} = {ImageSize}.");
    }
}
