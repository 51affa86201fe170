using Diffusion.ML.TorchSharp.Autoencoders;
using Microsoft.ML;

namespace Diffusion.ML.MLNet;

/// <summary>
/// Trains a vector-quantised VAE (van den Oord et al. 2017) on an image column with TorchSharp, and returns a
/// <see cref="VqVaeTransformer"/> that maps images to their code indices, a vector of ML.NET keys (key k + 1 is code k),
/// and optionally to the quantised latents. Reach it with <c>mlContext.Diffusion().TrainVqVae(...)</c>; decode with
/// <c>mlContext.Diffusion().VqVaeDecoder(...)</c>.
/// </summary>
public sealed class VqVaeEstimator : IEstimator<VqVaeTransformer>
{
    /// <summary>Options of <see cref="VqVaeEstimator"/>.</summary>
    public sealed class Options : LatentAutoencoderOptions
    {
        /// <summary>Number of codes K (the key count of the code column). Default 128.</summary>
        public int CodebookSize { get; set; } = 128;

        /// <summary>Dimension D of a code (the latent channels). Default 16.</summary>
        public int CodeDimension { get; set; } = 16;

        /// <summary>Weight beta of the commitment loss ||z_e - sg[e]||^2 (van den Oord et al. 2017, eq. 3). Default 0.25.</summary>
        public double CommitmentCost { get; set; } = 0.25;

        /// <summary>
        /// A code whose moving-average cluster size falls below this is restarted at a random encoder output of the batch
        /// (Dhariwal et al. 2020); 0 disables restarts. Default 1.
        /// </summary>
        public double DeadCodeThreshold { get; set; } = 1.0;

        /// <summary>Initialise the codebook with k-means on the first batch's encoder outputs. Default false.</summary>
        public bool KMeansInit { get; set; }

        /// <summary>Column the transformer also writes with the quantised latents z_q = e_k (unscaled, [D, h, w]); null (default) writes none.</summary>
        public string? QuantizedColumnName { get; set; }
    }

    private readonly MLContext _mlContext;
    private readonly string _outputColumnName, _inputColumnName;
    private readonly Options _options;

    internal VqVaeEstimator(MLContext mlContext, string outputColumnName, string inputColumnName, Options? options)
    {
        _mlContext = mlContext;
        _outputColumnName = outputColumnName ?? throw new ArgumentNullException(nameof(outputColumnName));
        _inputColumnName = inputColumnName ?? throw new ArgumentNullException(nameof(inputColumnName));
        _options = options ?? new Options();
    }

    /// <summary>Trains the VQ-VAE on every row of the input column (resuming from the checkpoint folder if one is set) and exports it.</summary>
    /// <param name="input">Rows with the image column.</param>
    /// <returns>The encoder transformer.</returns>
    /// <exception cref="ArgumentException">The column is missing or not a float vector of an image's size, the options are invalid, or the input is empty.</exception>
    /// <exception cref="InvalidDataException">A row holds NaN or infinite pixels (its number is in the message).</exception>
    public VqVaeTransformer Fit(IDataView input)
    {
        if (_options.QuantizedColumnName is { } quantized && (quantized.Length == 0 || quantized == _outputColumnName))
            throw new ArgumentException($"QuantizedColumnName must be a non-empty name other than the code column '{_outputColumnName}'; got '{quantized}'.");
        return LatentAutoencoderFit.Run<VqVae, VqVaeTransformer>(_mlContext, _options, "vqvae", "VQ-VAE", input, _inputColumnName,
            backbone =>
            {
                var options = new VqVaeOptions
                {
                    Backbone = backbone,
                    CodebookSize = _options.CodebookSize,
                    CodeDimension = _options.CodeDimension,
                    CommitmentCost = _options.CommitmentCost,
                    DeadCodeThreshold = _options.DeadCodeThreshold,
                    KMeansInit = _options.KMeansInit,
                };
                options.Validate();
                return () => new VqVae(options);
            },
            vqvae => new VqVaeTransformer(_mlContext, vqvae, _inputColumnName, _outputColumnName, _options.QuantizedColumnName, _options.PixelRange, input));
    }

    /// <inheritdoc />
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        LatentAutoencoderFit.RequireImageColumn(inputSchema, _inputColumnName);
        int positions = _options.LatentPositions();
        var shape = VqVaeTransformer.CodeColumnShape(_mlContext, inputSchema, _outputColumnName, positions);
        return _options.QuantizedColumnName is { } quantized
            ? SchemaShapes.WithFloatVector(_mlContext, shape, quantized, positions > 0 ? positions * _options.CodeDimension : -1)
            : shape;
    }
}
