using Diffusion.ML.Onnx;
using Diffusion.ML.TorchSharp.Onnx;
using Microsoft.ML;

namespace Diffusion.ML.MLNet;

/// <summary>
/// The Diffusion.ML components for ML.NET pipelines, reached with <c>mlContext.Diffusion()</c>: estimators that train
/// inside <c>Fit</c> (TorchSharp) and return transformers that run on ONNX Runtime and save with the model.
/// </summary>
public sealed partial class DiffusionCatalog
{
    internal DiffusionCatalog(MLContext mlContext) => MLContext = mlContext;

    internal MLContext MLContext { get; }

    /// <summary>
    /// Trains a VAE on an image column; the transformer writes the scaled latent mean to <paramref name="outputColumnName"/>,
    /// or a posterior sample drawn per row with a seed (<see cref="VaeEstimator.Options.LatentOutput"/>).
    /// </summary>
    /// <param name="outputColumnName">The latent column to write.</param>
    /// <param name="inputColumnName">The image column: a known-size float vector, CHW order (ExtractPixels' default).</param>
    /// <param name="options">Training and architecture options; null takes the defaults.</param>
    /// <example>
    /// <code>
    /// var vae = ml.Diffusion().TrainVae("Latent", "Pixels", new VaeEstimator.Options { Steps = 2000, CheckpointFolder = "ckpt" }).Fit(images);
    /// IDataView latents = vae.Transform(images);
    /// </code>
    /// </example>
    public VaeEstimator TrainVae(string outputColumnName = "Latent", string inputColumnName = "Features", VaeEstimator.Options? options = null) =>
        new(MLContext, outputColumnName, inputColumnName, options);

    /// <summary>
    /// The decoder of a trained VAE: scaled latents in <paramref name="inputColumnName"/> to images in
    /// <paramref name="outputColumnName"/>, in <paramref name="pixelRange"/> (default: the range the VAE was trained on).
    /// Fitting it trains nothing; it checks the input schema.
    /// </summary>
    /// <param name="vae">The encoder transformer that <see cref="TrainVae"/> returned.</param>
    /// <param name="outputColumnName">The image column to write.</param>
    /// <param name="inputColumnName">The latent column (vector of the VAE's latent size).</param>
    /// <param name="pixelRange">Range of the written pixels; null takes the VAE's input range.</param>
    public IEstimator<ITransformer> VaeDecoder(VaeTransformer vae, string outputColumnName = "Image", string inputColumnName = "Latent", PixelRange? pixelRange = null)
    {
        ArgumentNullException.ThrowIfNull(vae);
        var range = pixelRange ?? vae.PixelRange;
        range.Validate(nameof(pixelRange));
        return OnnxGraphs.Estimator(MLContext, vae.DecoderGraph(inputColumnName, outputColumnName, range), [outputColumnName]);
    }

    /// <summary>
    /// Trains a denoiser (UNet or DiT, DDPM objective) on a sample column, class-conditional when
    /// <paramref name="labelColumnName"/> names a key or integer column.
    /// </summary>
    /// <param name="featureColumnName">The clean samples: pixels (set the options' PixelRange) or latents.</param>
    /// <param name="labelColumnName">Class column, or null for an unconditional model.</param>
    /// <param name="options">Training, network and column options; null takes the defaults.</param>
    public DenoiserTrainerEstimator TrainDenoiser(string featureColumnName = "Features", string? labelColumnName = "Label",
        DenoiserTrainerEstimator.Options? options = null) => new(MLContext, featureColumnName, labelColumnName, options);

    /// <summary>
    /// The forward process q(x_t | x_0) = N(sqrt(abar_t) x_0, (1 - abar_t) I) (Ho et al. 2020, eq. 4) per row of a sample
    /// column: writes the noisy sample, a uniform timestep and the noise, deterministic per row given the seed (a
    /// counter-based Threefry generator inside the ONNX graph, so the saved model reproduces it anywhere).
    /// </summary>
    /// <param name="inputColumnName">The clean samples (float vector).</param>
    /// <param name="options">Seed, schedule, timestep range and column names.</param>
    public IEstimator<ITransformer> AddNoise(string inputColumnName = "Features", NoiseSchedulerOptions? options = null)
    {
        options ??= new NoiseSchedulerOptions();
        return new SchemaBoundEstimator(schema =>
        {
            var type = ImageColumns.RequireFloatVector(schema, inputColumnName);
            var export = new NoiseSchedulerOnnxExportOptions
            {
                NoiseSchedule = options.Schedule, Dimension = type.Size, Seed = unchecked((ulong)options.Seed),
                UseRowKeyInput = options.RowKeyColumnName is not null, MinTimestep = options.MinTimestep, MaxTimestep = options.MaxTimestep,
            };
            var graph = NoiseSchedulerOnnxExporter.Export(export);
            var bindings = new List<(string, string)>
            {
                (NoiseSchedulerOnnxExporter.SampleInputName, inputColumnName),
                (NoiseSchedulerOnnxExporter.NoisyOutputName, options.NoisyColumnName),
                (NoiseSchedulerOnnxExporter.TimestepOutputName, options.TimestepColumnName),
                (NoiseSchedulerOnnxExporter.NoiseOutputName, options.NoiseColumnName),
            };
            if (options.RowKeyColumnName is { } key)
            {
                graph = graph.WithTrailingUnitAxis(NoiseSchedulerOnnxExporter.RowKeyInputName);
                bindings.Add((NoiseSchedulerOnnxExporter.RowKeyInputName, key));
            }
            return OnnxGraphs.Estimator(MLContext, OnnxGraphs.Bind(graph, bindings.ToArray()),
                [options.NoisyColumnName, options.TimestepColumnName, options.NoiseColumnName]);
        },
        // The vector size is not part of a SchemaShape; Fit gives the exact schema.
        shape => SchemaShapes.WithFloatVector(MLContext,
            SchemaShapes.WithInt64(MLContext, SchemaShapes.WithFloatVector(MLContext, shape, options.NoisyColumnName, -1, inputColumnName), options.TimestepColumnName),
            options.NoiseColumnName, -1));
    }

    /// <summary>
    /// A generator from a trained denoiser: the whole sampler (DDIM or DPM-Solver++(2M), with classifier-free guidance)
    /// as one ONNX graph, reading starting noise (and classes) per row and writing the sample. Fit checks the schema;
    /// nothing is trained. Pair it with <see cref="SampleRequests(DenoiserTransformer, long, long, IReadOnlyList{int}?, string, string)"/>.
    /// </summary>
    /// <param name="denoiser">The transformer <see cref="TrainDenoiser"/> returned.</param>
    /// <param name="options">Sampler, steps, guidance, columns and output range.</param>
    public IEstimator<ITransformer> Sampler(DenoiserTransformer denoiser, SamplerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(denoiser);
        options ??= new SamplerOptions();
        options.Validate(denoiser.Schedule.NumTrainTimesteps);
        var graph = OnnxGraphs.FixSampleDimensions(denoiser.Generators[options.Sampler], GeneratorOnnxExporter.NoiseInputName, denoiser.SampleShape.ToArray())
            .WithConstantInput(GeneratorOnnxExporter.StepsInputName, (long)options.Steps);
        var bindings = new List<(string, string)>
        {
            (GeneratorOnnxExporter.NoiseInputName, options.NoiseColumnName),
            (GeneratorOnnxExporter.ImagesOutputName, options.OutputColumnName),
        };
        if (denoiser.ClassCount > 0)
        {
            graph = graph.WithConstantInput(GeneratorOnnxExporter.GuidanceInputName, options.GuidanceScale)
                .WithTrailingUnitAxis(DiffusionModelMetadata.ClassInputName);
            bindings.Add((DiffusionModelMetadata.ClassInputName, options.LabelColumnName));
        }
        if ((options.OutputRange ?? denoiser.PixelRange) is { } range)
            graph = graph.WithAffineOutput(GeneratorOnnxExporter.ImagesOutputName, range.FromModelScale, range.FromModelShift);
        return OnnxGraphs.Estimator(MLContext, OnnxGraphs.Bind(graph, bindings.ToArray()), [options.OutputColumnName]);
    }

    /// <summary>
    /// <paramref name="count"/> sample requests for a sampler, computed lazily as a cursor advances: columns "Index",
    /// "Seed", "Label" (class-conditional models: the classes cycled) and the starting noise, a function of
    /// (<paramref name="seed"/>, index) only.
    /// </summary>
    /// <param name="denoiser">The denoiser whose samples are requested (gives the noise size and whether labels are needed).</param>
    /// <param name="count">Rows.</param>
    /// <param name="seed">Seed of the noise.</param>
    /// <param name="classes">Classes to cycle through; null = all of the model's classes (none for an unconditional model).</param>
    /// <param name="noiseColumnName">Noise column name (the sampler's <see cref="SamplerOptions.NoiseColumnName"/>).</param>
    /// <param name="labelColumnName">Label column name (the sampler's <see cref="SamplerOptions.LabelColumnName"/>).</param>
    public IDataView SampleRequests(DenoiserTransformer denoiser, long count, long seed, IReadOnlyList<int>? classes = null,
        string noiseColumnName = "Noise", string labelColumnName = "Label")
    {
        ArgumentNullException.ThrowIfNull(denoiser);
        int[]? labels = denoiser.ClassCount == 0 ? null : (classes ?? Enumerable.Range(0, denoiser.ClassCount).ToArray()).ToArray();
        if (labels?.FirstOrDefault(c => c >= denoiser.ClassCount, -1) is int bad and >= 0)
            throw new ArgumentException($"Class {bad} is out of range: the model has {denoiser.ClassCount} classes (0..{denoiser.ClassCount - 1}).", nameof(classes));
        if (denoiser.ClassCount == 0 && classes is not null) throw new ArgumentException("The model is unconditional; pass no classes.", nameof(classes));
        return new SampleRequestDataView(count, seed, labels, denoiser.SampleShape.Aggregate(1, (a, b) => a * b), noiseColumnName, labelColumnName);
    }

    /// <summary>
    /// Sample requests for a generator loaded with <c>mlContext.Model.Load</c> in another process: the noise size and
    /// whether labels are needed come from the model's saved input schema.
    /// </summary>
    /// <param name="modelInputSchema">The input schema <c>Model.Load</c> returned.</param>
    /// <param name="count">Rows.</param>
    /// <param name="seed">Seed of the noise.</param>
    /// <param name="classes">Classes to cycle through (required when the schema has the label column).</param>
    /// <param name="noiseColumnName">Noise column name.</param>
    /// <param name="labelColumnName">Label column name.</param>
    public IDataView SampleRequests(DataViewSchema modelInputSchema, long count, long seed, IReadOnlyList<int>? classes = null,
        string noiseColumnName = "Noise", string labelColumnName = "Label")
    {
        ArgumentNullException.ThrowIfNull(modelInputSchema);
        var noise = ImageColumns.RequireFloatVector(modelInputSchema, noiseColumnName);
        bool conditional = modelInputSchema.GetColumnOrNull(labelColumnName) is not null;
        if (conditional && classes is null) throw new ArgumentException($"The model reads classes from '{labelColumnName}'; pass the classes to generate.", nameof(classes));
        if (!conditional && classes is not null) throw new ArgumentException($"The model has no '{labelColumnName}' input; pass no classes.", nameof(classes));
        return new SampleRequestDataView(count, seed, classes?.ToArray(), noise.Size, noiseColumnName, labelColumnName);
    }
}
