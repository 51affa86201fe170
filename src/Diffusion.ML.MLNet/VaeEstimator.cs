using Diffusion.ML.TorchSharp.Autoencoders;
using Microsoft.ML;

namespace Diffusion.ML.MLNet;

/// <summary>
/// Trains a variational autoencoder (Kingma and Welling 2014) on an image column with TorchSharp, and returns a
/// <see cref="VaeTransformer"/> that maps images to latents (the posterior mean times the latent scale factor of
/// Rombach et al. 2022, so the latents have unit variance, as a latent denoiser expects; or, with
/// <see cref="Options.LatentOutput"/>, a seeded posterior sample). Reach it with
/// <c>mlContext.Diffusion().TrainVae(...)</c>; decode with <c>mlContext.Diffusion().VaeDecoder(...)</c>.
/// </summary>
public sealed class VaeEstimator : IEstimator<VaeTransformer>
{
    /// <summary>Options of <see cref="VaeEstimator"/>.</summary>
    public sealed class Options : LatentAutoencoderOptions
    {
        /// <summary>Latent channels. Default 4 (Rombach et al. 2022).</summary>
        public int LatentChannels { get; set; } = 4;

        /// <summary>Weight of the KL term (beta-VAE, Higgins et al. 2017). Default 1.</summary>
        public double Beta { get; set; } = 1.0;

        /// <summary>Standard deviation of the Gaussian decoder p(x | z) in [-1, 1] pixel units. Default 0.1.</summary>
        public double ObservationStd { get; set; } = 0.1;

        /// <summary>What the transformer writes: the scaled posterior mean (default) or a scaled posterior sample drawn per row.</summary>
        public VaeLatentOutput LatentOutput { get; set; } = VaeLatentOutput.Mean;

        /// <summary>Seed of the posterior samples (<see cref="VaeLatentOutput.Sample"/>); with a row's key it fixes the row's draw. Independent of <see cref="DiffusionTrainingOptions.Seed"/>.</summary>
        public long SampleSeed { get; set; }

        /// <summary>
        /// Int64 column keying each row's posterior sample (e.g. an id); null (default) keys a row by a hash of its pixels,
        /// so a row gets the same sample wherever it appears, and identical images get identical samples. Only with
        /// <see cref="VaeLatentOutput.Sample"/>.
        /// </summary>
        public string? RowKeyColumnName { get; set; }

        internal void ValidateLatentOutput()
        {
            if (!Enum.IsDefined(LatentOutput))
                throw new ArgumentException($"LatentOutput must be {VaeLatentOutput.Mean} or {VaeLatentOutput.Sample}; got {LatentOutput}.", nameof(LatentOutput));
            if (RowKeyColumnName is not null && LatentOutput != VaeLatentOutput.Sample)
                throw new ArgumentException($"RowKeyColumnName '{RowKeyColumnName}' keys posterior samples; set LatentOutput = {nameof(VaeLatentOutput.Sample)} or leave it null.", nameof(RowKeyColumnName));
            if (RowKeyColumnName is "") throw new ArgumentException("RowKeyColumnName must be a column name or null.", nameof(RowKeyColumnName));
        }
    }

    private readonly MLContext _mlContext;
    private readonly string _outputColumnName, _inputColumnName;
    private readonly Options _options;

    internal VaeEstimator(MLContext mlContext, string outputColumnName, string inputColumnName, Options? options)
    {
        _mlContext = mlContext;
        _outputColumnName = outputColumnName ?? throw new ArgumentNullException(nameof(outputColumnName));
        _inputColumnName = inputColumnName ?? throw new ArgumentNullException(nameof(inputColumnName));
        _options = options ?? new Options();
    }

    /// <summary>Trains the VAE on every row of the input column (resuming from the checkpoint folder if one is set) and exports it.</summary>
    /// <param name="input">Rows with the image column.</param>
    /// <returns>The encoder transformer.</returns>
    /// <exception cref="ArgumentException">The column is missing or not a float vector of an image's size, the options are invalid, or the input is empty.</exception>
    /// <exception cref="InvalidDataException">A row holds NaN or infinite pixels (its number is in the message).</exception>
    public VaeTransformer Fit(IDataView input)
    {
        _options.ValidateLatentOutput();
        return LatentAutoencoderFit.Run<VariationalAutoencoder, VaeTransformer>(_mlContext, _options, "vae", "VAE", input, _inputColumnName,
            backbone =>
            {
                var options = new VaeOptions
                {
                    Backbone = backbone,
                    LatentChannels = _options.LatentChannels,
                    Beta = _options.Beta,
                    ObservationStd = _options.ObservationStd,
                };
                options.Validate();
                return () => new VariationalAutoencoder(options);
            },
            vae => new VaeTransformer(_mlContext, vae, _inputColumnName, _outputColumnName, _options, input));
    }

    /// <inheritdoc />
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        _options.ValidateLatentOutput();
        LatentAutoencoderFit.RequireImageColumn(inputSchema, _inputColumnName);
        int positions = _options.LatentPositions();
        return SchemaShapes.WithFloatVector(_mlContext, inputSchema, _outputColumnName, positions > 0 ? positions * _options.LatentChannels : -1, _inputColumnName);
    }
}
