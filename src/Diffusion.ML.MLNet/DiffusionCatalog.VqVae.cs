using Microsoft.ML;

namespace Diffusion.ML.MLNet;

public sealed partial class DiffusionCatalog
{
    /// <summary>
    /// Trains a VQ-VAE (van den Oord et al. 2017) on an image column; the transformer writes each image's code indices to
    /// <paramref name="outputColumnName"/> as a vector of keys (key k + 1 is code k, one per latent position), and the
    /// quantised latents too when <see cref="VqVaeEstimator.Options.QuantizedColumnName"/> is set.
    /// </summary>
    /// <param name="outputColumnName">The code column to write.</param>
    /// <param name="inputColumnName">The image column: a known-size float vector, CHW order (ExtractPixels' default).</param>
    /// <param name="options">Training, architecture and codebook options; null takes the defaults.</param>
    /// <example>
    /// <code>
    /// var vqvae = ml.Diffusion().TrainVqVae("Codes", "Pixels", new VqVaeEstimator.Options { Steps = 2000, CodebookSize = 64 }).Fit(images);
    /// IDataView codes = vqvae.Transform(images);   // Codes: Vector&lt;Key&lt;UInt32, 0-63&gt;, 49&gt; for 28x28 images
    /// </code>
    /// </example>
    public VqVaeEstimator TrainVqVae(string outputColumnName = "Codes", string inputColumnName = "Features", VqVaeEstimator.Options? options = null) =>
        new(MLContext, outputColumnName, inputColumnName, options);

    /// <summary>
    /// The decoder of a trained VQ-VAE: codes in <paramref name="inputColumnName"/> (the key vector its transformer writes)
    /// or quantised latents (a float vector of the latent size) to images in <paramref name="outputColumnName"/>, in
    /// <paramref name="pixelRange"/> (default: the range the VQ-VAE was trained on). Fitting it trains nothing; it checks
    /// the input column's type and size.
    /// </summary>
    /// <param name="vqvae">The transformer that <see cref="TrainVqVae"/> returned.</param>
    /// <param name="outputColumnName">The image column to write.</param>
    /// <param name="inputColumnName">The code column (or a quantised latent column).</param>
    /// <param name="pixelRange">Range of the written pixels; null takes the VQ-VAE's input range.</param>
    public IEstimator<ITransformer> VqVaeDecoder(VqVaeTransformer vqvae, string outputColumnName = "Image", string inputColumnName = "Codes", PixelRange? pixelRange = null)
    {
        ArgumentNullException.ThrowIfNull(vqvae);
        ArgumentException.ThrowIfNullOrEmpty(outputColumnName);
        ArgumentException.ThrowIfNullOrEmpty(inputColumnName);
        var range = pixelRange ?? vqvae.PixelRange;
        range.Validate(nameof(pixelRange));
        return new SchemaBoundEstimator(schema => vqvae.Decoder(MLContext, schema, inputColumnName, outputColumnName, range),
            shape =>
            {
                if (LatentAutoencoderFit.FindColumn(shape, inputColumnName) is { } column
                    && (column.Kind != SchemaShape.Column.VectorKind.Vector || !(column.IsKey || column.ItemType == Microsoft.ML.Data.NumberDataViewType.Single)))
                    throw new ArgumentException($"Column '{inputColumnName}' is {LatentAutoencoderFit.Describe(column)}; the VQ-VAE decoder reads a known-size vector of code keys or of Single (quantised latents).");
                return SchemaShapes.WithFloatVector(MLContext, shape, outputColumnName, vqvae.ImageSize, inputColumnName);
            });
    }
}
