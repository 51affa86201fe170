using System.Text.Json;
using System.Text.Json.Serialization;
using Diffusion.ML.Sampling;

namespace Diffusion.ML.Jobs;

/// <summary>
/// Everything that decides a generation job's images: the model (by content hash), backend, sampler and its settings,
/// the generation options and the seed, but not the batch size or the shard (they never change an image). Stored as
/// <c>job.json</c> in the output folder, so that a restart, or another shard, is refused if it would mix other settings in.
/// </summary>
public sealed record GenerationJobSpec
{
    /// <summary>Version of this layout.</summary>
    public int Format { get; init; } = 1;

    /// <summary>The model's name: a zoo reference <c>id@version</c>, or the file name of a checkpoint or ONNX file.</summary>
    public required string Model { get; init; }

    /// <summary>SHA-256 (hex) of the model file.</summary>
    public required string ModelSha256 { get; init; }

    /// <summary>The backend that runs the model ("torch" or "onnx"): their float results differ in the last bits.</summary>
    public required string Backend { get; init; }

    /// <summary>Sampler name as accepted by <see cref="Samplers.Create(string, SamplerSettings?)"/>.</summary>
    public required string Sampler { get; init; }

    /// <summary>The sampler's options.</summary>
    public SamplerSettings SamplerSettings { get; init; } = new();

    /// <summary>Shape of one sample, e.g. [1, 28, 28].</summary>
    public required IReadOnlyList<int> SampleShape { get; init; }

    /// <summary>Number of samples of the whole job (all shards).</summary>
    public required long Count { get; init; }

    /// <summary>Global index of the job's first sample.</summary>
    public long FirstIndex { get; init; }

    /// <summary>The seed S: sample i's random stream depends only on (S, i).</summary>
    public long Seed { get; init; }

    /// <summary>Inference steps (ignored when <see cref="Timesteps"/> is set).</summary>
    public int NumInferenceSteps { get; init; }

    /// <summary>Timestep spacing.</summary>
    public TimestepSpacing TimestepSpacing { get; init; }

    /// <summary>Offset added to the timesteps (diffusers' steps_offset).</summary>
    public int StepsOffset { get; init; }

    /// <summary>Explicit descending timesteps, or null.</summary>
    public IReadOnlyList<int>? Timesteps { get; init; }

    /// <summary>Class labels cycled over the global sample index, or null.</summary>
    public IReadOnlyList<int>? ClassLabels { get; init; }

    /// <summary>Classifier-free guidance scale.</summary>
    public double GuidanceScale { get; init; } = 1.0;

    /// <summary>Guidance rescale (Lin et al. 2024).</summary>
    public double GuidanceRescale { get; init; }

    /// <summary>Dynamic thresholding quantile, or null.</summary>
    public double? DynamicThresholdingQuantile { get; init; }

    /// <summary>Largest dynamic threshold.</summary>
    public double DynamicThresholdingMaxValue { get; init; } = double.PositiveInfinity;

    /// <summary>Whether x0 estimates are clipped.</summary>
    public bool ClipSample { get; init; } = true;

    /// <summary>Clip range.</summary>
    public double ClipSampleRange { get; init; } = 1.0;

    /// <summary>JSON settings of job.json (infinities allowed, enums by name).</summary>
    public static JsonSerializerOptions JsonOptions { get; } = new()
    {
        TypeInfoResolver = new System.Text.Json.Serialization.Metadata.DefaultJsonTypeInfoResolver(),
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Converters = { new JsonStringEnumConverter() },
    };

    /// <summary>The spec of running <paramref name="sampler"/> with <paramref name="options"/> on a model.</summary>
    /// <exception cref="ArgumentException">Options a batch job does not take (img2img initial images).</exception>
    public static GenerationJobSpec Create(string model, string modelSha256, string backend, string sampler, SamplerSettings? settings,
        IReadOnlyList<int> sampleShape, GenerationOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.InitialImages is not null)
            throw new ArgumentException("A generation job samples from noise; img2img (initial images) is a job for the sample command.", nameof(options));
        return new GenerationJobSpec
        {
            Model = model, ModelSha256 = modelSha256, Backend = backend, Sampler = sampler, SamplerSettings = settings ?? new(),
            SampleShape = [.. sampleShape], Count = options.Count, FirstIndex = options.FirstIndex, Seed = options.Seed,
            NumInferenceSteps = options.NumInferenceSteps, TimestepSpacing = options.TimestepSpacing, StepsOffset = options.StepsOffset,
            Timesteps = options.Timesteps?.ToArray(), ClassLabels = options.ClassLabels?.ToArray(), GuidanceScale = options.GuidanceScale,
            GuidanceRescale = options.GuidanceRescale, DynamicThresholdingQuantile = options.DynamicThresholdingQuantile,
            DynamicThresholdingMaxValue = options.DynamicThresholdingMaxValue, ClipSample = options.ClipSample, ClipSampleRange = options.ClipSampleRange,
        };
    }

    /// <summary>The generation options of samples [firstIndex, firstIndex + count) of this job, <paramref name="batchSize"/> per network call.</summary>
    public GenerationOptions ToGenerationOptions(long firstIndex, int count, int batchSize) => new()
    {
        Count = count, FirstIndex = firstIndex, BatchSize = batchSize, Seed = Seed, NumInferenceSteps = NumInferenceSteps,
        TimestepSpacing = TimestepSpacing, StepsOffset = StepsOffset, Timesteps = Timesteps, ClassLabels = ClassLabels,
        GuidanceScale = GuidanceScale, GuidanceRescale = GuidanceRescale, DynamicThresholdingQuantile = DynamicThresholdingQuantile,
        DynamicThresholdingMaxValue = DynamicThresholdingMaxValue, ClipSample = ClipSample, ClipSampleRange = ClipSampleRange,
    };

    /// <summary>The class of global sample <paramref name="index"/>, or null for an unconditional job.</summary>
    public int? ClassOf(long index) => ClassLabels is { Count: > 0 } labels ? labels[(int)(index % labels.Count)] : null;

    /// <summary>This spec as job.json text.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);

    /// <summary>Reads job.json text.</summary>
    /// <exception cref="InvalidDataException">Not a job spec.</exception>
    public static GenerationJobSpec FromJson(string json, string source)
    {
        try
        {
            return JsonSerializer.Deserialize<GenerationJobSpec>(json, JsonOptions)
                ?? throw new InvalidDataException($"{source} is empty.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{source} is not a generation job description ({e.Message}). Delete it only if the folder's images belong to no job.", e);
        }
    }
}
