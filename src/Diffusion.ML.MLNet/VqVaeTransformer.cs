using Diffusion.ML.Onnx;
using Diffusion.ML.TorchSharp.Autoencoders;
using Diffusion.ML.TorchSharp.Onnx;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms;

namespace Diffusion.ML.MLNet;

/// <summary>
/// The trained VQ-VAE's encoder and quantizer as a transformer: an image column (float vector in
/// <see cref="LatentAutoencoderTransformer.PixelRange"/>) to the nearest-code indices k = argmin_i ||z_e - e_i||^2
/// (van den Oord et al. 2017, eq. 1) at every latent position, written as a vector of ML.NET keys
/// (<c>Key&lt;UInt32, CodebookSize&gt;</c>, key k + 1 is code k, h x w values, its key values the codes), and optionally the
/// quantised latents z_q = e_k to <see cref="QuantizedColumnName"/>. Runs on ONNX Runtime through ML.NET's
/// OnnxTransformer and ValueToKeyMapping transformers; saved with the pipeline. Its decoder is
/// <c>mlContext.Diffusion().VqVaeDecoder(this, ...)</c>.
/// </summary>
public sealed class VqVaeTransformer : LatentAutoencoderTransformer
{
    private const string LatentsTemp = "__dml_vqvae_latents", IndicesTemp = "__dml_vqvae_indices", CodesName = "codes";

    private readonly OnnxModel _decoder;
    private readonly float[] _codebook;

    internal VqVaeTransformer(MLContext mlContext, VqVae vqvae, string inputColumnName, string outputColumnName, string? quantizedColumnName,
        PixelRange pixelRange, IDataView input)
        : base(Build(mlContext, vqvae, inputColumnName, outputColumnName, quantizedColumnName, pixelRange, input), "VQ-VAE",
            vqvae.ImageShape.Select(d => (int)d).ToArray(), vqvae.LatentShape.Select(d => (int)d).ToArray(), inputColumnName, outputColumnName, pixelRange)
    {
        _decoder = AutoencoderOnnxExporter.ExportVqVaeDecoder(vqvae);
        using (var codebook = vqvae.Quantizer.Codebook.detach().cpu()) _codebook = codebook.data<float>().ToArray();
        CodebookSize = vqvae.Options.CodebookSize;
        QuantizedColumnName = quantizedColumnName;
    }

    /// <summary>Number of codes K: the key count of the code column.</summary>
    public int CodebookSize { get; }

    /// <summary>The column written with the quantised latents z_q (unscaled, <see cref="LatentAutoencoderTransformer.LatentShape"/>), or null.</summary>
    public string? QuantizedColumnName { get; }

    /// <summary>Latent positions h w: the length of the code vector.</summary>
    private int Positions => LatentShape[1] * LatentShape[2];

    /// <summary>
    /// The shape after adding the code column (a vector of keys) to <paramref name="inputSchema"/>. The key column is
    /// described by ML.NET's own ValueToKeyMapping estimator over a stand-in column (a <see cref="SchemaShape"/> carries
    /// neither vector sizes nor key counts).
    /// </summary>
    internal static SchemaShape CodeColumnShape(MLContext mlContext, SchemaShape inputSchema, string codeColumn, int positions)
    {
        var withIndices = SchemaShapes.WithFloatVector(mlContext, inputSchema, IndicesTemp, positions);
        var keyed = mlContext.Transforms.Conversion.MapValueToKey(codeColumn, IndicesTemp).GetOutputSchema(withIndices);
        return mlContext.Transforms.DropColumns(IndicesTemp).GetOutputSchema(keyed);
    }

    /// <summary>
    /// The decoder for the column <paramref name="inputColumn"/> of <paramref name="schema"/>: a vector of h w keys of
    /// this codebook (codes, as this transformer writes them), or a float vector of D h w values (quantised latents).
    /// </summary>
    internal IEstimator<ITransformer> Decoder(MLContext mlContext, DataViewSchema schema, string inputColumn, string outputColumn, PixelRange range)
    {
        var column = schema.GetColumnOrNull(inputColumn)
            ?? throw new ArgumentException($"The input has no column '{inputColumn}'; its columns are {string.Join(", ", schema.Select(c => $"'{c.Name}'"))}.");
        var decoder = _decoder.WithAffineOutput(AutoencoderOnnxExporter.ImagesName, range.FromModelScale, range.FromModelShift);
        int latentSize = LatentShape[0] * Positions;
        switch (column.Type)
        {
            case VectorDataViewType { ItemType: KeyDataViewType key } codes:
                if (key.Count != (ulong)CodebookSize || key.RawType != typeof(uint))
                    throw new ArgumentException($"Column '{inputColumn}' holds keys of {key}; this VQ-VAE's codes are Key<UInt32, 0-{CodebookSize - 1}> ({CodebookSize} codes), as its transformer writes them.");
                if (codes.Size != Positions)
                    throw new ArgumentException($"Column '{inputColumn}' has vectors of {codes.Size} codes; this VQ-VAE decodes {LatentShape[1]}x{LatentShape[2]} = {Positions}.");
                var lookup = OnnxGraphs.Bind(CodeLookup(), (CodesName, inputColumn), (AutoencoderOnnxExporter.LatentsName, LatentsTemp));
                return OnnxGraphs.Estimator(mlContext, lookup, [LatentsTemp])
                    .Append(OnnxGraphs.Estimator(mlContext, OnnxGraphs.Bind(decoder, (AutoencoderOnnxExporter.LatentsName, LatentsTemp), (AutoencoderOnnxExporter.ImagesName, outputColumn)),
                        [outputColumn]))
                    .Append(mlContext.Transforms.DropColumns(LatentsTemp));
            case VectorDataViewType { ItemType: var item, IsKnownSize: true } latents when item == NumberDataViewType.Single:
                if (latents.Size != latentSize)
                    throw new ArgumentException($"Column '{inputColumn}' has vectors of {latents.Size} values; this VQ-VAE decodes quantised latents of " +
                        $"{string.Join("x", LatentShape)} = {latentSize} (or its codes: {Positions} keys).");
                return OnnxGraphs.Estimator(mlContext, OnnxGraphs.Bind(decoder, (AutoencoderOnnxExporter.LatentsName, inputColumn), (AutoencoderOnnxExporter.ImagesName, outputColumn)),
                    [outputColumn]);
            default:
                throw new ArgumentException($"Column '{inputColumn}' is {column.Type}; the VQ-VAE decoder reads a vector of {Positions} code keys (Key<UInt32, 0-{CodebookSize - 1}>, " +
                    $"as its transformer writes them) or a known-size float vector of {latentSize} quantised latents.");
        }
    }

    /// <summary>
    /// The graph from ML.NET code keys to latents: "codes" UInt32 [batch, h, w] (keys 1..K, cast and shifted to codes
    /// 0..K-1 by the input edits) to "latents" e_k, [batch, D, h, w].
    /// </summary>
    private OnnxModel CodeLookup()
    {
        int k = CodebookSize, d = LatentShape[0], h = LatentShape[1], w = LatentShape[2];
        string batch = DiffusionModelMetadata.BatchDimension;
        var b = new OnnxGraphBuilder(OnnxGraphBuilder.DefaultOpset, "vqvae_code_lookup");
        var codes = b.AddInput(CodesName, OnnxElementType.Int64, batch, h, w);
        // A missing key (0) becomes code -1, which Gather would read as code K - 1; sent to K instead, it fails in ONNX Runtime.
        var valid = b.Node("Where", [b.Node("Less", [codes, b.Int64Scalar(0)]), b.Int64Scalar(k), codes]);
        var quantized = b.Transpose(b.Gather(b.AddInitializer("codebook", _codebook, k, d), valid), 0, 3, 1, 2);
        b.AddOutput(quantized, AutoencoderOnnxExporter.LatentsName, OnnxElementType.Float, batch, d, h, w);
        return b.Build(docString: "Diffusion.ML VQ-VAE code lookup: latents = e[codes].")
            .WithInputOffset(CodesName, -1)
            .WithInputType(CodesName, OnnxElementType.UInt32);
    }

    private static ITransformer Build(MLContext ml, VqVae vqvae, string input, string output, string? quantized, PixelRange range, IDataView data)
    {
        var encoder = OnnxGraphs.Bind(AutoencoderOnnxExporter.ExportVqVaeEncoder(vqvae).WithAffineInput(AutoencoderOnnxExporter.ImagesName, range.ToModelScale, range.ToModelShift),
            (AutoencoderOnnxExporter.ImagesName, input), (AutoencoderOnnxExporter.LatentsName, LatentsTemp));
        var bindings = new List<(string, string)> { (AutoencoderOnnxExporter.LatentsName, LatentsTemp), (AutoencoderOnnxExporter.IndicesName, IndicesTemp) };
        if (quantized is not null) bindings.Add((AutoencoderOnnxExporter.QuantizedName, quantized));
        var quantizer = OnnxGraphs.Bind(AutoencoderOnnxExporter.ExportVqVaeQuantizer(vqvae), bindings.ToArray());
        // ML.NET's OnnxTransformer writes ONNX element types only; ValueToKeyMapping over the ordered codes 0..K-1 makes
        // the int64 indices keys 1..K with a fixed count (it stores the codes, so the mapping saves and loads with the model).
        int k = vqvae.Options.CodebookSize;
        var codes = ml.Data.LoadFromEnumerable(Enumerable.Range(0, k).Select(c => new CodeRow { Code = c }));
        return OnnxGraphs.Estimator(ml, encoder, [LatentsTemp])
            .Append(OnnxGraphs.Estimator(ml, quantizer, quantized is null ? [IndicesTemp] : [IndicesTemp, quantized]))
            .Append(ml.Transforms.Conversion.MapValueToKey(output, IndicesTemp, maximumNumberOfKeys: k,
                keyOrdinality: ValueToKeyMappingEstimator.KeyOrdinality.ByValue, keyData: codes))
            .Append(ml.Transforms.DropColumns(LatentsTemp, IndicesTemp))
            .Fit(data);
    }

    private sealed class CodeRow
    {
        public long Code { get; set; }
    }
}
