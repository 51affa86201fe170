using Diffusion.ML.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace Diffusion.ML.TorchSharp.Autoencoders;

/// <summary>
/// Moves whole data sets between image space and the scaled latent space of an <see cref="IImageAutoencoder"/>, the
/// first stage of latent diffusion (Rombach et al. 2022): latents are multiplied by <see cref="IImageAutoencoder.LatentScale"/>
/// on the way in and divided by it on the way out.
/// </summary>
public static class LatentCodec
{
    /// <summary>
    /// 1 / std of all latent values of <paramref name="sample"/> (every element of every latent pooled, as latent diffusion
    /// computes its scale factor from a batch: Rombach et al. 2022, Sec. 4.3.2).
    /// </summary>
    /// <param name="autoencoder">The autoencoder.</param>
    /// <param name="sample">Images of the training data (a few hundred are enough).</param>
    /// <param name="batchSize">Images encoded at once.</param>
    /// <param name="device">Device of the autoencoder (default CPU).</param>
    /// <exception cref="ArgumentException">The data is empty, has the wrong image shape or non-finite values, or the latents are constant.</exception>
    public static double ComputeLatentScale(IImageAutoencoder autoencoder, ImageDataset sample, int batchSize = TorchSharpRuntime.CpuBatchSize, Device? device = null)
    {
        double sum = 0, sumSquares = 0;
        long count = 0;
        ForEachBatch(autoencoder, sample, batchSize, device, latents =>
        {
            foreach (float v in latents)
            {
                sum += v;
                sumSquares += (double)v * v;
            }
            count += latents.Length;
        });
        double mean = sum / count, variance = sumSquares / count - mean * mean;
        if (!(variance > 0) || !double.IsFinite(variance))
            throw new ArgumentException($"The latents of the {sample.Count} images have variance {variance}; the scale factor 1/std is undefined. Train the autoencoder first.", nameof(sample));
        return 1.0 / Math.Sqrt(variance);
    }

    /// <summary>Encodes every image of <paramref name="data"/>: N latents multiplied by the latent scale, one after another.</summary>
    /// <param name="autoencoder">The autoencoder.</param>
    /// <param name="data">Images of shape <see cref="IImageAutoencoder.ImageShape"/>.</param>
    /// <param name="batchSize">Images encoded at once.</param>
    /// <param name="device">Device of the autoencoder (default CPU).</param>
    /// <returns>N x prod(LatentShape) floats.</returns>
    public static float[] EncodeDataset(IImageAutoencoder autoencoder, ImageDataset data, int batchSize = TorchSharpRuntime.CpuBatchSize, Device? device = null)
    {
        long latentLength = autoencoder.LatentShape.Aggregate(1L, (a, b) => a * b);
        var result = new float[data.Count * latentLength];
        float scale = (float)autoencoder.LatentScale;
        long offset = 0;
        ForEachBatch(autoencoder, data, batchSize, device, latents =>
        {
            for (int i = 0; i < latents.Length; i++) result[offset + i] = latents[i] * scale;
            offset += latents.Length;
        });
        return result;
    }

    /// <summary>
    /// Encodes <paramref name="data"/> into a data set of scaled latents (labels and class names kept), ready for a
    /// diffusion trainer: shape <c>[c, h, w]</c> for convolutional latents, <c>[units, 1, 1]</c> for dense ones.
    /// </summary>
    /// <param name="autoencoder">The autoencoder.</param>
    /// <param name="data">Images of shape <see cref="IImageAutoencoder.ImageShape"/>.</param>
    /// <param name="batchSize">Images encoded at once.</param>
    /// <param name="device">Device of the autoencoder (default CPU).</param>
    public static ImageDataset EncodeToDataset(IImageAutoencoder autoencoder, ImageDataset data, int batchSize = TorchSharpRuntime.CpuBatchSize, Device? device = null)
    {
        var latents = EncodeDataset(autoencoder, data, batchSize, device);
        long[] s = autoencoder.LatentShape;
        var (c, h, w) = s.Length switch
        {
            3 => ((int)s[0], (int)s[1], (int)s[2]),
            1 => ((int)s[0], 1, 1),
            _ => throw new ArgumentException($"Latents of rank {s.Length} cannot be stored as an image data set.", nameof(autoencoder)),
        };
        return new ImageDataset(data.Count, c, h, w, latents, data.Labels, data.ClassCount, data.ClassNames);
    }

    /// <summary>Decodes scaled latents (as written by <see cref="EncodeDataset"/>) back into images in [-1, 1].</summary>
    /// <param name="autoencoder">The autoencoder.</param>
    /// <param name="scaledLatents">N x prod(LatentShape) floats, multiplied by the latent scale.</param>
    /// <param name="batchSize">Latents decoded at once.</param>
    /// <param name="device">Device of the autoencoder (default CPU).</param>
    /// <returns>N x prod(ImageShape) floats.</returns>
    /// <exception cref="ArgumentException">The length is not a multiple of the latent size, or a value is not finite.</exception>
    public static float[] DecodeLatents(IImageAutoencoder autoencoder, ReadOnlySpan<float> scaledLatents, int batchSize = TorchSharpRuntime.CpuBatchSize, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(autoencoder);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        long latentLength = autoencoder.LatentShape.Aggregate(1L, (a, b) => a * b);
        long imageLength = autoencoder.ImageShape.Aggregate(1L, (a, b) => a * b);
        float[] latents = ScaledLatents.Unscale(scaledLatents, autoencoder.LatentShape, autoencoder.LatentScale);
        int count = (int)(latents.Length / latentLength);
        var images = new float[count * imageLength];
        using var noGrad = no_grad();
        for (int start = 0; start < count; start += batchSize)
        {
            using var scope = NewDisposeScope();
            int n = Math.Min(batchSize, count - start);
            var z = tensor(latents.AsSpan((int)(start * latentLength), (int)(n * latentLength)).ToArray(), [n, .. autoencoder.LatentShape], device: device ?? CPU);
            autoencoder.Decode(z).cpu().data<float>().CopyTo(images.AsSpan((int)(start * imageLength), (int)(n * imageLength)));
        }
        return images;
    }

    /// <summary>
    /// Checks that <paramref name="data"/> fits <paramref name="imageShape"/>, is not empty and holds only finite values;
    /// the message says what was wrong and how to fix it.
    /// </summary>
    /// <exception cref="ArgumentException">The data does not fit.</exception>
    public static void CheckDataset(ImageDataset data, long[] imageShape, string paramName = "data")
    {
        ArgumentNullException.ThrowIfNull(data, paramName);
        if (data.Count == 0) throw new ArgumentException("The data set is empty; give at least one image.", paramName);
        long[] shape = [data.Channels, data.Height, data.Width];
        if (!shape.SequenceEqual(imageShape))
            throw new ArgumentException(
                $"The data's images are {data.Channels}x{data.Height}x{data.Width} but the autoencoder takes {string.Join("x", imageShape)}. " +
                "Resize the data or build the autoencoder for this image size.", paramName);
        float[] pixels = data.Pixels;
        for (int i = 0; i < pixels.Length; i++)
            if (!float.IsFinite(pixels[i]))
                throw new ArgumentException(
                    $"Image {i / data.ImageLength} has a non-finite value ({pixels[i]}) at position {i % data.ImageLength}; remove or repair it.", paramName);
    }

    private static void ForEachBatch(IImageAutoencoder autoencoder, ImageDataset data, int batchSize, Device? device, Action<float[]> use)
    {
        ArgumentNullException.ThrowIfNull(autoencoder);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        CheckDataset(data, autoencoder.ImageShape);
        using var noGrad = no_grad();
        for (int start = 0; start < data.Count; start += batchSize)
        {
            using var scope = NewDisposeScope();
            int n = Math.Min(batchSize, data.Count - start);
            var pixels = data.Pixels.AsSpan(start * data.ImageLength, n * data.ImageLength).ToArray();
            var x = tensor(pixels, [n, .. autoencoder.ImageShape], device: device ?? CPU);
            use(autoencoder.Encode(x).cpu().data<float>().ToArray());
        }
    }
}
