using Diffusion.ML.Onnx;
using Diffusion.ML.TorchSharp.Autoencoders;
using Diffusion.ML.TorchSharp.Onnx;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Diffusion.ML.MLNet;

/// <summary>
/// The trained VAE's encoder as a transformer: an image column (float vector in
/// <see cref="LatentAutoencoderTransformer.PixelRange"/>) to a latent column of
/// <see cref="LatentAutoencoderTransformer.LatentShape"/>, the posterior mean times <see cref="LatentScale"/> or, with
/// <see cref="VaeLatentOutput.Sample"/>, a posterior sample times <see cref="LatentScale"/> drawn per row from
/// <see cref="SampleSeed"/> and the row's key. Runs on ONNX Runtime through ML.NET's OnnxTransformer; saved with the
/// pipeline. Its decoder is <c>mlContext.Diffusion().VaeDecoder(this, ...)</c>.
/// </summary>
public sealed class VaeTransformer : LatentAutoencoderTransformer
{
    private const string MeanTemp = "__dml_vae_mean", LogVarianceTemp = "__dml_vae_logvar";

    private readonly OnnxModel _decoder;

    internal VaeTransformer(MLContext mlContext, VariationalAutoencoder vae, string inputColumnName, string outputColumnName, VaeEstimator.Options options, IDataView input)
        : base(Build(mlContext, vae, inputColumnName, outputColumnName, options, input),
            "VAE", vae.ImageShape.Select(d => (int)d).ToArray(), vae.LatentShape.Select(d => (int)d).ToArray(), inputColumnName, outputColumnName, options.PixelRange)
    {
        _decoder = AutoencoderOnnxExporter.ExportVaeDecoder(vae);
        LatentScale = vae.LatentScale;
        LatentOutput = options.LatentOutput;
        SampleSeed = options.SampleSeed;
        RowKeyColumnName = options.RowKeyColumnName;
    }

    /// <summary>The factor applied to the encoder's output: 1 / std of the training latents (Rombach et al. 2022, sec. 4.3.2).</summary>
    public double LatentScale { get; }

    /// <summary>Whether the transformer writes the posterior mean or a posterior sample.</summary>
    public VaeLatentOutput LatentOutput { get; }

    /// <summary>Seed of the posterior samples (used with <see cref="VaeLatentOutput.Sample"/>).</summary>
    public long SampleSeed { get; }

    /// <summary>The Int64 column keying the posterior samples, or null (rows keyed by their pixels, or no sampling).</summary>
    public string? RowKeyColumnName { get; }

    /// <summary>The decoder graph reading scaled latents from <paramref name="latentColumn"/> and writing pixels in <paramref name="range"/> to <paramref name="imageColumn"/>.</summary>
    internal OnnxModel DecoderGraph(string latentColumn, string imageColumn, PixelRange range) =>
        OnnxGraphs.Bind(_decoder
                .WithAffineInput(AutoencoderOnnxExporter.LatentsName, (float)(1.0 / LatentScale), 0f)
                .WithAffineOutput(AutoencoderOnnxExporter.ImagesName, range.FromModelScale, range.FromModelShift),
            (AutoencoderOnnxExporter.LatentsName, latentColumn), (AutoencoderOnnxExporter.ImagesName, imageColumn));

    /// <summary>The image column, and the row key column when samples are keyed by it (Int64).</summary>
    private protected override void CheckInput(DataViewSchema inputSchema)
    {
        base.CheckInput(inputSchema);
        if (RowKeyColumnName is null) return;
        var key = inputSchema.GetColumnOrNull(RowKeyColumnName)
            ?? throw new ArgumentException($"The input has no row key column '{RowKeyColumnName}' (RowKeyColumnName keys the posterior samples); its columns are " +
                $"{string.Join(", ", inputSchema.Select(c => $"'{c.Name}'"))}.");
        if (key.Type != NumberDataViewType.Int64)
            throw new ArgumentException($"The row key column '{RowKeyColumnName}' must be Int64; it is {key.Type}. Convert it with ConvertType(..., DataKind.Int64).");
    }

    private static ITransformer Build(MLContext ml, VariationalAutoencoder vae, string input, string output, VaeEstimator.Options options, IDataView data)
    {
        var range = options.PixelRange;
        var encoder = AutoencoderOnnxExporter.ExportVaeEncoder(vae).WithAffineInput(AutoencoderOnnxExporter.ImagesName, range.ToModelScale, range.ToModelShift);
        if (options.LatentOutput == VaeLatentOutput.Mean)
            return OnnxGraphs.Apply(ml, OnnxGraphs.Bind(encoder.WithAffineOutput(AutoencoderOnnxExporter.MeanName, (float)vae.LatentScale, 0f),
                (AutoencoderOnnxExporter.ImagesName, input), (AutoencoderOnnxExporter.MeanName, output)), data, [output]);

        // Sample: the encoder writes mean and log-variance to temporary columns, the sampling graph reads them with the
        // row's key (its pixels, or the key column) and writes the scaled sample.
        int imageSize = vae.ImageShape.Aggregate(1, (a, d) => a * (int)d);
        string? keyColumn = options.RowKeyColumnName;
        var latentShape = vae.LatentShape.Select(d => (int)d).ToArray();
        var sampler = VaePosteriorSampling.Graph(latentShape, vae.LatentScale, options.SampleSeed, keyColumn is null ? imageSize : null);
        var columns = new List<(string, DataViewType)> { (input, new VectorDataViewType(NumberDataViewType.Single, imageSize)) };
        if (keyColumn is not null) columns.Add((keyColumn, NumberDataViewType.Int64));
        return OnnxGraphs.Estimator(ml, OnnxGraphs.Bind(encoder, (AutoencoderOnnxExporter.ImagesName, input),
                    (AutoencoderOnnxExporter.MeanName, MeanTemp), (AutoencoderOnnxExporter.LogVarianceName, LogVarianceTemp)),
                [MeanTemp, LogVarianceTemp])
            .Append(OnnxGraphs.Estimator(ml, OnnxGraphs.Bind(sampler, (VaePosteriorSampling.MeanName, MeanTemp), (VaePosteriorSampling.LogVarianceName, LogVarianceTemp),
                    (VaePosteriorSampling.KeyName, keyColumn ?? input), (VaePosteriorSampling.LatentsName, output)),
                [output]))
            .Append(ml.Transforms.DropColumns(MeanTemp, LogVarianceTemp))
            // Fitted on the schema alone: the key column need not be in the training data.
            .Fit(EmptyDataView.Of(columns.ToArray()));
    }
}
