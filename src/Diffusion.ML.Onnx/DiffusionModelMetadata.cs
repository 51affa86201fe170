using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using Diffusion.ML.Sampling;
using Diffusion.ML.Schedules;

namespace Diffusion.ML.Onnx;

/// <summary>
/// What makes an exported denoiser self-describing: stored as <c>diffusion_ml.*</c> entries of the ONNX file's
/// <c>metadata_props</c> (plain strings; JSON where a value is structured), so a reader needs nothing but the file to
/// sample from it: the sample shape, what the network predicts, its classes, the noise schedule it was trained with and
/// the pixel range of its data. Readable from any ONNX tool (e.g. Python's <c>onnxruntime</c>:
/// <c>session.get_modelmeta().custom_metadata_map</c>). A latent diffusion model (Rombach et al. 2022) also names the
/// ONNX decoder beside it that turns its samples into images, and the latent scale to divide them by first.
/// </summary>
public sealed record DiffusionModelMetadata
{
    /// <summary>The format version this library writes: 2 (version 1 had no latent entries, so a reader of version 1 must
    /// not take a latent model's samples for images).</summary>
    public const int CurrentFormatVersion = 2;

    /// <summary>Prefix of every metadata key.</summary>
    public const string KeyPrefix = "diffusion_ml.";

    /// <summary>Key of <see cref="FormatVersion"/>.</summary>
    public const string FormatVersionKey = KeyPrefix + "format_version";

    /// <summary>Key of <see cref="ModelKind"/>.</summary>
    public const string ModelKindKey = KeyPrefix + "model_kind";

    /// <summary>Key of <see cref="ModelConfig"/>.</summary>
    public const string ModelConfigKey = KeyPrefix + "model_config";

    /// <summary>Key of <see cref="SampleShape"/> (a JSON array, e.g. <c>[1,28,28]</c>).</summary>
    public const string SampleShapeKey = KeyPrefix + "sample_shape";

    /// <summary>Key of <see cref="PredictionType"/> ("Epsilon", "VPrediction" or "Sample").</summary>
    public const string PredictionTypeKey = KeyPrefix + "prediction_type";

    /// <summary>Key of <see cref="ClassCount"/>.</summary>
    public const string ClassCountKey = KeyPrefix + "class_count";

    /// <summary>Key of <see cref="ClassNames"/> (a JSON array of strings; absent when there are none).</summary>
    public const string ClassNamesKey = KeyPrefix + "class_names";

    /// <summary>Key of <see cref="NoiseSchedule"/> (JSON of <see cref="NoiseScheduleOptions"/>, camelCase, enums as names).</summary>
    public const string NoiseScheduleKey = KeyPrefix + "noise_schedule";

    /// <summary>Key of the pixel range (a JSON array <c>[min,max]</c>, <c>[-1,1]</c> for Diffusion.ML models).</summary>
    public const string PixelRangeKey = KeyPrefix + "pixel_range";

    /// <summary>Key of <see cref="Exporter"/>.</summary>
    public const string ExporterKey = KeyPrefix + "exporter";

    /// <summary>Key of <see cref="Weights"/>.</summary>
    public const string WeightsKey = KeyPrefix + "weights";

    /// <summary>Key of <see cref="LatentScale"/> (an invariant-culture number); autoencoder exports record theirs under it too.</summary>
    public const string LatentScaleKey = KeyPrefix + "latent_scale";

    /// <summary>Key of an autoencoder export's image shape <c>[C, H, W]</c> (a JSON array).</summary>
    public const string ImageShapeKey = KeyPrefix + "image_shape";

    /// <summary>Key of <see cref="LatentDecoder"/>.</summary>
    public const string LatentDecoderKey = KeyPrefix + "latent_decoder";

    /// <summary>Name of the float32 input x_t, <c>[batch, ...SampleShape]</c>.</summary>
    public const string SampleInputName = "x";

    /// <summary>Name of the float32 input holding one timestep per sample, <c>[batch]</c>.</summary>
    public const string TimestepInputName = "t";

    /// <summary>Name of the int64 input holding class labels <c>[batch]</c> (conditional models only; ClassCount = null class).</summary>
    public const string ClassInputName = "class_labels";

    /// <summary>Name of the float32 output, the prediction.</summary>
    public const string OutputName = "out";

    /// <summary>Name of the symbolic batch dimension of every input and of the output.</summary>
    public const string BatchDimension = "batch";

    private static readonly JsonSerializerOptions Json = new()
    {
        TypeInfoResolver = new DefaultJsonTypeInfoResolver(),
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        PropertyNameCaseInsensitive = true,
        Converters = { new JsonStringEnumConverter() },
    };

    /// <summary>Metadata format version of the file. Default <see cref="CurrentFormatVersion"/>.</summary>
    public int FormatVersion { get; init; } = CurrentFormatVersion;

    /// <summary>Network kind, e.g. "unet" or "mlp". Required.</summary>
    public required string ModelKind { get; init; }

    /// <summary>The network's configuration JSON (as stored in checkpoints), or null.</summary>
    public string? ModelConfig { get; init; }

    /// <summary>Shape of one sample without the batch dimension, e.g. [1, 28, 28] or [2]. Required.</summary>
    public required IReadOnlyList<int> SampleShape { get; init; }

    /// <summary>What the network outputs. Default <see cref="PredictionType.Epsilon"/>.</summary>
    public PredictionType PredictionType { get; init; } = PredictionType.Epsilon;

    /// <summary>Number of classes (0 = unconditional; label ClassCount is the null class). Default 0.</summary>
    public int ClassCount { get; init; }

    /// <summary>Names of the classes (ClassCount of them), or null.</summary>
    public IReadOnlyList<string>? ClassNames { get; init; }

    /// <summary>The noise schedule the network was trained with, or null if unknown.</summary>
    public NoiseScheduleOptions? NoiseSchedule { get; init; }

    /// <summary>Value of black in the network's data. Default -1.</summary>
    public float PixelMinimum { get; init; } = -1f;

    /// <summary>Value of white in the network's data. Default 1.</summary>
    public float PixelMaximum { get; init; } = 1f;

    /// <summary>What wrote the file, e.g. "Diffusion.ML 0.1.0". Default this library and version.</summary>
    public string Exporter { get; init; } = $"{OnnxModel.Producer} {OnnxModel.ProducerVersionString}";

    /// <summary>Which weights were exported: "ema" or "raw" (the last trained ones), or null if not stated.</summary>
    public string? Weights { get; init; }

    /// <summary>
    /// The autoencoder's latent scale (Rombach et al. 2022, section 4.3.2): for a latent diffusion model the factor its
    /// latents were scaled by in training (divide its samples by it before decoding), for an autoencoder export its own.
    /// Null for a model of images.
    /// </summary>
    public double? LatentScale { get; init; }

    /// <summary>
    /// For a latent diffusion model: the file name of the ONNX decoder (an autoencoder export, "latents" to "images") that
    /// lies in the same folder as this file; needs <see cref="LatentScale"/>. Null for a model of images.
    /// </summary>
    public string? LatentDecoder { get; init; }

    /// <summary>The metadata as <c>metadata_props</c> entries.</summary>
    /// <returns>Key/value pairs, keys starting with <see cref="KeyPrefix"/>.</returns>
    public IReadOnlyDictionary<string, string> ToProperties()
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [FormatVersionKey] = FormatVersion.ToString(CultureInfo.InvariantCulture),
            [ModelKindKey] = ModelKind,
            [SampleShapeKey] = JsonSerializer.Serialize(SampleShape.ToArray(), Json),
            [PredictionTypeKey] = PredictionType.ToString(),
            [ClassCountKey] = ClassCount.ToString(CultureInfo.InvariantCulture),
            [PixelRangeKey] = JsonSerializer.Serialize(new[] { PixelMinimum, PixelMaximum }, Json),
            [ExporterKey] = Exporter,
        };
        if (ModelConfig is not null) map[ModelConfigKey] = ModelConfig;
        if (ClassNames is not null) map[ClassNamesKey] = JsonSerializer.Serialize(ClassNames.ToArray(), Json);
        if (NoiseSchedule is not null) map[NoiseScheduleKey] = JsonSerializer.Serialize(NoiseSchedule, Json);
        if (Weights is not null) map[WeightsKey] = Weights;
        if (LatentDecoder is not null && LatentScale is null)
            throw new InvalidOperationException("A latent model's LatentDecoder needs the LatentScale its samples are divided by.");
        if (LatentScale is { } scale) map[LatentScaleKey] = scale.ToString("R", CultureInfo.InvariantCulture);
        if (LatentDecoder is not null) map[LatentDecoderKey] = LatentDecoder;
        return map;
    }

    /// <summary>Whether <paramref name="properties"/> hold Diffusion.ML metadata (a format version and a model kind).</summary>
    /// <param name="properties">An ONNX file's <c>metadata_props</c>.</param>
    public static bool IsPresent(IReadOnlyDictionary<string, string> properties)
    {
        ArgumentNullException.ThrowIfNull(properties);
        return properties.ContainsKey(FormatVersionKey) && properties.ContainsKey(ModelKindKey);
    }

    /// <summary>Reads the metadata back from <c>metadata_props</c> entries.</summary>
    /// <param name="properties">The entries (other keys are ignored).</param>
    /// <param name="source">The file, for messages.</param>
    /// <returns>The metadata.</returns>
    /// <exception cref="InvalidDataException">Entries are missing or malformed, or the format version is newer than this library reads.</exception>
    public static DiffusionModelMetadata FromProperties(IReadOnlyDictionary<string, string> properties, string source = "the model")
    {
        ArgumentNullException.ThrowIfNull(properties);
        if (!IsPresent(properties))
            throw new InvalidDataException(
                $"'{source}' has no Diffusion.ML metadata ({FormatVersionKey}, {ModelKindKey}); it was not exported by Diffusion.ML. " +
                "Open it with OnnxRuntimeDenoiser and explicit OnnxDenoiserOptions instead.");
        int version = Parse(properties, FormatVersionKey, source, s => int.Parse(s, NumberStyles.Integer, CultureInfo.InvariantCulture));
        if (version > CurrentFormatVersion)
            throw new InvalidDataException($"'{source}' has Diffusion.ML metadata version {version}; this library reads up to {CurrentFormatVersion}. Update Diffusion.ML.");
        var shape = Parse(properties, SampleShapeKey, source, s => JsonSerializer.Deserialize<int[]>(s, Json)!);
        if (shape is null || shape.Length == 0 || shape.Any(d => d <= 0))
            throw new InvalidDataException($"'{source}' metadata {SampleShapeKey} must list positive sizes; got '{properties[SampleShapeKey]}'.");
        var range = Optional(properties, PixelRangeKey, source, s => JsonSerializer.Deserialize<float[]>(s, Json)) ?? [-1f, 1f];
        if (range.Length != 2 || !(range[0] < range[1]))
            throw new InvalidDataException($"'{source}' metadata {PixelRangeKey} must be [min, max] with min < max; got '{properties[PixelRangeKey]}'.");
        var classCount = Optional(properties, ClassCountKey, source, s => (int?)int.Parse(s, NumberStyles.Integer, CultureInfo.InvariantCulture)) ?? 0;
        if (classCount < 0) throw new InvalidDataException($"'{source}' metadata {ClassCountKey} must be >= 0; got {classCount}.");
        var schedule = Optional(properties, NoiseScheduleKey, source, s => JsonSerializer.Deserialize<NoiseScheduleOptions>(s, Json));
        try
        {
            schedule?.Validate();
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"'{source}' metadata {NoiseScheduleKey} is invalid: {e.Message}", e);
        }
        var latentScale = Optional(properties, LatentScaleKey, source, s => (double?)double.Parse(s, NumberStyles.Float, CultureInfo.InvariantCulture));
        var latentDecoder = properties.GetValueOrDefault(LatentDecoderKey);
        if (latentDecoder is not null && latentScale is null)
            throw new InvalidDataException($"'{source}' names a latent decoder ({LatentDecoderKey}) without the latent scale ({LatentScaleKey}); export it again with diffusion-ml export.");
        if (latentScale is { } ls && !(double.IsFinite(ls) && ls > 0))
            throw new InvalidDataException($"'{source}' metadata {LatentScaleKey} must be a positive number; got {ls}.");
        if (latentDecoder is not null && (latentDecoder.Length == 0 || Path.IsPathRooted(latentDecoder) || Path.GetFileName(latentDecoder) != latentDecoder))
            throw new InvalidDataException($"'{source}' metadata {LatentDecoderKey} must be a file name in the model's folder; got '{latentDecoder}'.");
        return new DiffusionModelMetadata
        {
            FormatVersion = version,
            ModelKind = properties[ModelKindKey],
            ModelConfig = properties.GetValueOrDefault(ModelConfigKey),
            SampleShape = shape,
            PredictionType = Optional(properties, PredictionTypeKey, source, s => (PredictionType?)Enum.Parse<PredictionType>(s, ignoreCase: true)) ?? PredictionType.Epsilon,
            ClassCount = classCount,
            ClassNames = Optional(properties, ClassNamesKey, source, s => JsonSerializer.Deserialize<string[]>(s, Json)),
            NoiseSchedule = schedule,
            PixelMinimum = range[0],
            PixelMaximum = range[1],
            Exporter = properties.GetValueOrDefault(ExporterKey) ?? "unknown",
            Weights = properties.GetValueOrDefault(WeightsKey),
            LatentScale = latentScale,
            LatentDecoder = latentDecoder,
        };
    }

    private static T Parse<T>(IReadOnlyDictionary<string, string> properties, string key, string source, Func<string, T> parse)
    {
        if (!properties.TryGetValue(key, out var text))
            throw new InvalidDataException($"'{source}' lacks the metadata entry {key}; the file was not fully written by Diffusion.ML.");
        return ParseValue(text, key, source, parse);
    }

    private static T? Optional<T>(IReadOnlyDictionary<string, string> properties, string key, string source, Func<string, T?> parse)
        => properties.TryGetValue(key, out var text) ? ParseValue(text, key, source, parse) : default;

    private static T ParseValue<T>(string text, string key, string source, Func<string, T> parse)
    {
        try
        {
            return parse(text);
        }
        catch (Exception e) when (e is FormatException or OverflowException or JsonException or ArgumentException)
        {
            throw new InvalidDataException($"'{source}' has a malformed metadata entry {key} = '{text}': {e.Message}", e);
        }
    }
}
