using Diffusion.ML.Onnx;
using Diffusion.ML.TorchSharp.Onnx;
using Microsoft.ML;

namespace Diffusion.ML.MLNet;

/// <summary>
/// The trained VAE's encoder as a transformer: an image column (float vector in <see cref="PixelRange"/>) to a latent
/// column of <see cref="LatentShape"/>, the posterior mean times <see cref="LatentScale"/>. Runs on ONNX Runtime through
/// ML.NET's OnnxTransformer; saved with the pipeline. Its decoder is <c>mlContext.Diffusion().VaeDecoder(this, ...)</c>.
/// </summary>
public sealed class VaeTransformer : DiffusionTransformer
{
    private readonly OnnxModel _decoder;

    internal VaeTransformer(MLContext mlContext, OnnxModel encoder, OnnxModel decoder, int[] imageShape, int[] latentShape, double latentScale,
        string inputColumnName, string outputColumnName, PixelRange pixelRange, IDataView input)
        : base(OnnxGraphs.Apply(mlContext, EncoderGraph(encoder, latentScale, inputColumnName, outputColumnName, pixelRange), input, [outputColumnName], gpuDeviceId: null))
    {
        _decoder = decoder;
        ImageShape = imageShape;
        LatentShape = latentShape;
        LatentScale = latentScale;
        InputColumnName = inputColumnName;
        OutputColumnName = outputColumnName;
        PixelRange = pixelRange;
    }

    /// <summary>Image shape [C, H, W].</summary>
    public IReadOnlyList<int> ImageShape { get; }

    /// <summary>Latent shape [c, h, w].</summary>
    public IReadOnlyList<int> LatentShape { get; }

    /// <summary>The factor applied to the encoder's mean: 1 / std of the training latents (Rombach et al. 2022, sec. 4.3.2).</summary>
    public double LatentScale { get; }

    /// <summary>The image column read.</summary>
    public string InputColumnName { get; }

    /// <summary>The latent column written.</summary>
    public string OutputColumnName { get; }

    /// <summary>Range of the input pixels (and, by default, of the decoder's output).</summary>
    public PixelRange PixelRange { get; }

    /// <summary>The decoder graph reading scaled latents from <paramref name="latentColumn"/> and writing pixels in <paramref name="range"/> to <paramref name="imageColumn"/>.</summary>
    internal OnnxModel DecoderGraph(string latentColumn, string imageColumn, PixelRange range) =>
        OnnxGraphs.Bind(_decoder
                .WithAffineInput(AutoencoderOnnxExporter.LatentsName, (float)(1.0 / LatentScale), 0f)
                .WithAffineOutput(AutoencoderOnnxExporter.ImagesName, range.FromModelScale, range.FromModelShift),
            (AutoencoderOnnxExporter.LatentsName, latentColumn), (AutoencoderOnnxExporter.ImagesName, imageColumn));

    private static OnnxModel EncoderGraph(OnnxModel encoder, double latentScale, string input, string output, PixelRange range) =>
        OnnxGraphs.Bind(encoder
                .WithAffineInput(AutoencoderOnnxExporter.ImagesName, range.ToModelScale, range.ToModelShift)
                .WithAffineOutput(AutoencoderOnnxExporter.MeanName, (float)latentScale, 0f),
            (AutoencoderOnnxExporter.ImagesName, input), (AutoencoderOnnxExporter.MeanName, output));

    private protected override void CheckInput(DataViewSchema inputSchema)
    {
        var type = ImageColumns.RequireFloatVector(inputSchema, InputColumnName);
        int size = ImageShape.Aggregate(1, (a, b) => a * b);
        if (type.Size != size)
            throw new ArgumentException($"Column '{InputColumnName}' has vectors of {type.Size} values; this VAE encodes {string.Join("x", ImageShape)} = {size}.");
    }
}
