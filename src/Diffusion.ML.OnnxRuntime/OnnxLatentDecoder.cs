using System.Text.Json;
using Diffusion.ML.Data;
using Diffusion.ML.Onnx;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Diffusion.ML.OnnxRuntime;

/// <summary>
/// An autoencoder's ONNX decoder exported by Diffusion.ML ("latents" <c>[batch, ...LatentShape]</c> to "images"
/// <c>[batch, ...ImageShape]</c>), which turns a latent diffusion model's samples into images: the samples are divided by
/// the latent scale, then decoded (Rombach et al. 2022). Holds an unmanaged session: dispose it.
/// </summary>
public sealed class OnnxLatentDecoder : IDisposable
{
    private const string LatentsName = "latents", ImagesName = "images";

    private readonly InferenceSession _session;
    private readonly string _path;

    private OnnxLatentDecoder(InferenceSession session, string path, IReadOnlyList<int> latentShape, IReadOnlyList<int> imageShape, double latentScale)
    {
        _session = session;
        _path = path;
        LatentShape = latentShape;
        ImageShape = imageShape;
        LatentScale = latentScale;
    }

    /// <summary>Shape of one latent without the batch dimension.</summary>
    public IReadOnlyList<int> LatentShape { get; }

    /// <summary>Shape of one decoded image <c>[C, H, W]</c>.</summary>
    public IReadOnlyList<int> ImageShape { get; }

    /// <summary>The autoencoder's latent scale: diffusion samples are divided by it before decoding.</summary>
    public double LatentScale { get; }

    /// <summary>Opens a decoder written by <c>diffusion-ml export</c> (beside a latent denoiser) or <c>export-autoencoder</c>.</summary>
    /// <param name="path">The decoder's .onnx file.</param>
    /// <param name="intraOpThreads">ONNX Runtime intra-op threads; 0 lets ONNX Runtime choose.</param>
    /// <param name="provider">Where ONNX Runtime runs the model (CUDA needs the GPU build).</param>
    /// <param name="deviceId">The GPU for <see cref="OnnxExecutionProvider.Cuda"/>.</param>
    /// <returns>The decoder; dispose it.</returns>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not a Diffusion.ML autoencoder decoder (wrong metadata, inputs or outputs).</exception>
    public static OnnxLatentDecoder Open(string path, int intraOpThreads = 0, OnnxExecutionProvider provider = OnnxExecutionProvider.Cpu, int deviceId = 0)
    {
        var session = OnnxSessions.Open(path, intraOpThreads, provider: provider, deviceId: deviceId);
        try
        {
            var properties = session.ModelMetadata.CustomMetadataMap;
            var metadata = DiffusionModelMetadata.FromProperties(properties, path);
            if (!metadata.ModelKind.EndsWith("-decoder", StringComparison.Ordinal))
                throw new InvalidDataException($"'{path}' is a {metadata.ModelKind}, not an autoencoder decoder; name the -decoder.onnx file of an export.");
            if (!session.InputMetadata.ContainsKey(LatentsName) || !session.OutputMetadata.ContainsKey(ImagesName))
                throw new InvalidDataException($"'{path}' lacks the input '{LatentsName}' or the output '{ImagesName}' of a Diffusion.ML decoder; export it again.");
            double scale = metadata.LatentScale
                ?? throw new InvalidDataException($"'{path}' records no latent scale ({DiffusionModelMetadata.LatentScaleKey}); export the autoencoder again.");
            int[] imageShape = ReadImageShape(properties, path);
            return new OnnxLatentDecoder(session, path, metadata.SampleShape, imageShape, scale);
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    /// <summary>Decodes diffusion samples (scaled latents) into images, <paramref name="batchSize"/> latents per run.</summary>
    /// <param name="scaledLatents">Whole latents, flattened, as the diffusion model samples them (times <see cref="LatentScale"/>).</param>
    /// <param name="batchSize">Latents decoded per ONNX Runtime run.</param>
    /// <returns>The images, flattened <c>[count, ...ImageShape]</c>.</returns>
    /// <exception cref="ArgumentException">Not a whole number of latents, or a value is not finite.</exception>
    public float[] Decode(ReadOnlySpan<float> scaledLatents, int batchSize = 256)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        int latentLength = LatentShape.Aggregate(1, (a, b) => a * b), imageLength = ImageShape.Aggregate(1, (a, b) => a * b);
        float[] latents = ScaledLatents.Unscale(scaledLatents, [.. LatentShape.Select(d => (long)d)], LatentScale);
        int count = latents.Length / latentLength;
        var images = new float[(long)count * imageLength];
        for (int start = 0; start < count; start += batchSize)
        {
            int n = Math.Min(batchSize, count - start);
            var chunk = latents.AsMemory(start * latentLength, n * latentLength);
            var input = NamedOnnxValue.CreateFromTensor(LatentsName, new DenseTensor<float>(chunk, [n, .. LatentShape]));
            using var results = _session.Run([input], [ImagesName]);
            var output = results[0].AsTensor<float>();
            if (output.Length != (long)n * imageLength)
                throw new InvalidDataException($"'{_path}' returned {output.Length} values for {n} images of shape [{string.Join(", ", ImageShape)}].");
            int k = start * imageLength;
            foreach (float value in output) images[k++] = value;
        }
        return images;
    }

    private static int[] ReadImageShape(IReadOnlyDictionary<string, string> properties, string path)
    {
        int[]? shape = null;
        if (properties.TryGetValue(DiffusionModelMetadata.ImageShapeKey, out var text))
        {
            try
            {
                shape = JsonSerializer.Deserialize<int[]>(text);
            }
            catch (JsonException)
            {
            }
        }
        if (shape is not { Length: 3 } || shape.Any(d => d <= 0))
            throw new InvalidDataException($"'{path}' records no image shape [C, H, W] ({DiffusionModelMetadata.ImageShapeKey}); export the autoencoder again.");
        return shape;
    }

    /// <inheritdoc />
    public void Dispose() => _session.Dispose();
}
