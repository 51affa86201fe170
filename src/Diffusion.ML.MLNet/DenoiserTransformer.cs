using Diffusion.ML.Onnx;
using Diffusion.ML.Sampling;
using Diffusion.ML.Schedules;
using Diffusion.ML.TorchSharp.Onnx;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Diffusion.ML.MLNet;

/// <summary>
/// The trained denoiser as a transformer: for rows with a noisy sample x_t (<see cref="NoisyColumnName"/>), its timestep
/// (<see cref="TimestepColumnName"/>, any numeric type) and, for a class-conditional model, the class
/// (<see cref="LabelColumnName"/>, the same type as in training), it writes the network's prediction (epsilon, x_0 or v:
/// <see cref="PredictionType"/>) to <see cref="OutputColumnName"/>. Runs on ONNX Runtime; saved with the pipeline.
/// Generators for it come from <c>mlContext.Diffusion().Sampler(this, ...)</c>.
/// </summary>
public sealed class DenoiserTransformer : DiffusionTransformer
{
    private const string TimestepTemp = "__dml_timestep";

    internal DenoiserTransformer(MLContext mlContext, OnnxModel denoiser, IReadOnlyDictionary<OnnxGeneratorSampler, OnnxModel> generators,
        int[] sampleShape, int classCount, PredictionType predictionType, NoiseScheduleOptions schedule, string? labelColumnName,
        DenoiserTrainerEstimator.Options options, DataViewSchema trainingSchema)
        : base(Build(mlContext, denoiser, sampleShape, classCount, labelColumnName, options, trainingSchema))
    {
        Network = denoiser;
        Generators = generators;
        SampleShape = sampleShape;
        ClassCount = classCount;
        PredictionType = predictionType;
        Schedule = schedule;
        PixelRange = options.PixelRange;
        NoisyColumnName = options.NoisyColumnName;
        TimestepColumnName = options.TimestepColumnName;
        LabelColumnName = classCount > 0 ? labelColumnName : null;
        OutputColumnName = options.OutputColumnName;
    }

    /// <summary>Shape of one sample [C, H, W].</summary>
    public IReadOnlyList<int> SampleShape { get; }

    /// <summary>Number of classes; 0 for an unconditional model.</summary>
    public int ClassCount { get; }

    /// <summary>What the network predicts.</summary>
    public PredictionType PredictionType { get; }

    /// <summary>The training noise schedule.</summary>
    public NoiseScheduleOptions Schedule { get; }

    /// <summary>Range of the training column's values (null: used as they were, e.g. latents).</summary>
    public PixelRange? PixelRange { get; }

    /// <summary>Column of noisy samples read.</summary>
    public string NoisyColumnName { get; }

    /// <summary>Column of timesteps read.</summary>
    public string TimestepColumnName { get; }

    /// <summary>Column of classes read; null for an unconditional model.</summary>
    public string? LabelColumnName { get; }

    /// <summary>Column of predictions written.</summary>
    public string OutputColumnName { get; }

    /// <summary>The exported network as the trainer wrote it (inputs x, t and class_labels with a free batch axis, Diffusion.ML metadata), for batched sampling on ONNX Runtime.</summary>
    internal OnnxModel Network { get; }

    /// <summary>The one-graph samplers exported at Fit (network inside an ONNX Loop), by sampler.</summary>
    internal IReadOnlyDictionary<OnnxGeneratorSampler, OnnxModel> Generators { get; }

    private static ITransformer Build(MLContext ml, OnnxModel denoiser, int[] shape, int classCount, string? labelColumn,
        DenoiserTrainerEstimator.Options options, DataViewSchema trainingSchema)
    {
        int size = shape.Aggregate(1, (a, b) => a * b);
        var graph = OnnxGraphs.FixSampleDimensions(denoiser, DiffusionModelMetadata.SampleInputName, shape)
            .WithTrailingUnitAxis(DiffusionModelMetadata.TimestepInputName);
        var bindings = new List<(string, string)>
        {
            (DiffusionModelMetadata.SampleInputName, options.NoisyColumnName),
            (DiffusionModelMetadata.TimestepInputName, TimestepTemp),
            (DiffusionModelMetadata.OutputName, options.OutputColumnName),
        };
        var columns = new List<(string, DataViewType)> { (options.NoisyColumnName, new VectorDataViewType(NumberDataViewType.Single, size)), (options.TimestepColumnName, new VectorDataViewType(NumberDataViewType.Int64, 1)) };
        IEstimator<ITransformer> pipeline = ml.Transforms.Conversion.ConvertType(TimestepTemp, options.TimestepColumnName, DataKind.Single);
        if (classCount > 0)
        {
            // The label column goes in as it is (the graph casts it); keys 1..K are classes 0..K-1, plain integers the classes.
            var labelType = trainingSchema[labelColumn!].Type;
            graph = graph.WithTrailingUnitAxis(DiffusionModelMetadata.ClassInputName);
            if (labelType is KeyDataViewType) graph = graph.WithInputOffset(DiffusionModelMetadata.ClassInputName, -1);
            graph = graph.WithInputType(DiffusionModelMetadata.ClassInputName, OnnxTypeOf(labelType));
            bindings.Add((DiffusionModelMetadata.ClassInputName, labelColumn!));
            columns.Add((labelColumn!, labelType));
        }
        graph = OnnxGraphs.Bind(graph, bindings.ToArray());
        pipeline = pipeline.Append(OnnxGraphs.Estimator(ml, graph, [options.OutputColumnName]))
            .Append(ml.Transforms.DropColumns(TimestepTemp));
        return pipeline.Fit(EmptyDataView.Of(columns.ToArray()));
    }

    private static OnnxElementType OnnxTypeOf(DataViewType type) => type.RawType switch
    {
        var t when t == typeof(uint) => OnnxElementType.UInt32,
        var t when t == typeof(int) => OnnxElementType.Int32,
        var t when t == typeof(long) => OnnxElementType.Int64,
        var t when t == typeof(ushort) => OnnxElementType.UInt16,
        var t when t == typeof(byte) => OnnxElementType.UInt8,
        _ => throw new ArgumentException($"Labels of type {type} are not supported; use a key or integer column."),
    };

    private protected override void CheckInput(DataViewSchema inputSchema)
    {
        if (inputSchema.GetColumnOrNull(NoisyColumnName) is null)
            throw new ArgumentException($"The input has no column '{NoisyColumnName}' of noisy samples for the denoiser to predict on; its columns are " +
                $"{string.Join(", ", inputSchema.Select(c => $"'{c.Name}'"))}. Put AddNoise before TrainDenoiser in the chain (EstimatorChain.Fit applies " +
                "the fitted denoiser to the data), or set NoisyColumnName and TimestepColumnName to your columns.");
        var type = ImageColumns.RequireFloatVector(inputSchema, NoisyColumnName);
        int size = SampleShape.Aggregate(1, (a, b) => a * b);
        if (type.Size != size)
            throw new ArgumentException($"Column '{NoisyColumnName}' has vectors of {type.Size} values; this denoiser takes samples of {string.Join("x", SampleShape)} = {size}.");
        var timestep = inputSchema.GetColumnOrNull(TimestepColumnName)
            ?? throw new ArgumentException($"The input has no timestep column '{TimestepColumnName}'; add one (e.g. with AddNoise) or set TimestepColumnName.");
        if (timestep.Type is not NumberDataViewType && timestep.Type is not VectorDataViewType { Size: 1, ItemType: NumberDataViewType })
            throw new ArgumentException($"The timestep column '{TimestepColumnName}' must be numeric (a number or a vector of one, as AddNoise writes); it is {timestep.Type}.");
        if (LabelColumnName is not null) ImageColumns.RequireLabel(inputSchema, LabelColumnName);
    }
}
