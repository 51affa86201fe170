using System.Globalization;
using System.Text.Json;
using Diffusion.ML.Randomness;
using Diffusion.ML.Schedules;

namespace Diffusion.ML.Onnx;

/// <summary>
/// What <see cref="NoiseSchedulerOnnxExporter"/> writes: the schedule, the seed, the row length and where row keys come
/// from. The file keeps all of it in its <c>metadata_props</c> (<see cref="ToMetadata"/>, read back by
/// <see cref="FromModel"/>), so the file alone reproduces its outputs with <see cref="SeededForwardNoising"/>.
/// </summary>
public sealed record NoiseSchedulerOnnxExportOptions
{
    /// <summary>Value of <see cref="DiffusionModelMetadata.ModelKindKey"/> in these files.</summary>
    public const string ModelKind = "noise_scheduler";

    /// <summary>Key of the seed (decimal, unsigned 64-bit).</summary>
    public const string SeedKey = DiffusionModelMetadata.KeyPrefix + "noising_seed";

    /// <summary>Key of the timestep range (JSON <c>[min,max]</c>, inclusive).</summary>
    public const string TimestepRangeKey = DiffusionModelMetadata.KeyPrefix + "noising_timesteps";

    /// <summary>Key of the row key source: <see cref="RowKeyInput"/> or <see cref="RowKeyContent"/>.</summary>
    public const string RowKeySourceKey = DiffusionModelMetadata.KeyPrefix + "noising_row_key";

    /// <summary>Key of the generator, always <see cref="Generator"/>.</summary>
    public const string GeneratorKey = DiffusionModelMetadata.KeyPrefix + "noising_generator";

    /// <summary>Row keys come from the <c>row_key</c> input.</summary>
    public const string RowKeyInput = "input";

    /// <summary>Row keys are the content keys of x0 (<see cref="SeededForwardNoising.ContentKey"/>).</summary>
    public const string RowKeyContent = "content";

    /// <summary>The generator and its specification: Threefry-2x32-20 as defined by <see cref="SeededForwardNoising"/>.</summary>
    public const string Generator = "threefry2x32-20";

    /// <summary>The noise schedule. Default the DDPM linear schedule with T = 1000.</summary>
    public NoiseScheduleOptions NoiseSchedule { get; init; } = new();

    /// <summary>D, the number of values per row (the second axis of <c>x0</c>). Required, at least 1.</summary>
    public required int Dimension { get; init; }

    /// <summary>The 64-bit seed. Default 0.</summary>
    public ulong Seed { get; init; }

    /// <summary>
    /// True: the graph takes an int64 <c>row_key</c> input [N] (read as two's-complement 64 bits). False (default): it keys
    /// each row by its content, so equal rows get equal noise (D at most <see cref="SeededForwardNoising.MaxContentDimension"/>).
    /// </summary>
    public bool UseRowKeyInput { get; init; }

    /// <summary>Smallest timestep drawn. Default 0.</summary>
    public int MinTimestep { get; init; }

    /// <summary>Largest timestep drawn (inclusive); null (default) for T - 1.</summary>
    public int? MaxTimestep { get; init; }

    /// <summary>ONNX opset, <see cref="OnnxThreefry.MinOpset"/> (default) to <see cref="OnnxGraphBuilder.MaxOpset"/>.</summary>
    public int Opset { get; init; } = OnnxThreefry.MinOpset;

    /// <summary>Checks the options and builds the C# reference they describe.</summary>
    /// <returns>The noising the exported graph computes.</returns>
    /// <exception cref="ArgumentException">An option is out of range; the message says which.</exception>
    public SeededForwardNoising CreateNoising()
    {
        if (Dimension < 1) throw new ArgumentException($"Dimension (D, values per row) must be at least 1; got {Dimension}.", nameof(Dimension));
        if (!UseRowKeyInput && Dimension > SeededForwardNoising.MaxContentDimension)
            throw new ArgumentException(
                $"Content keys take rows of at most {SeededForwardNoising.MaxContentDimension} values; Dimension is {Dimension}. Set UseRowKeyInput.", nameof(Dimension));
        if (Opset is < OnnxThreefry.MinOpset or > OnnxGraphBuilder.MaxOpset)
            throw new ArgumentException($"Opset must lie in [{OnnxThreefry.MinOpset}, {OnnxGraphBuilder.MaxOpset}] (BitwiseAnd and BitwiseXor need {OnnxThreefry.MinOpset}); got {Opset}.", nameof(Opset));
        ArgumentNullException.ThrowIfNull(NoiseSchedule);
        NoiseSchedule.Validate();
        return new SeededForwardNoising(new NoiseSchedule(NoiseSchedule), Seed, MinTimestep, MaxTimestep);
    }

    /// <summary>The <c>metadata_props</c> of the exported file: the common Diffusion.ML entries and the noising's own.</summary>
    /// <returns>Key/value pairs, keys starting with <see cref="DiffusionModelMetadata.KeyPrefix"/>.</returns>
    public IReadOnlyDictionary<string, string> ToMetadata()
    {
        var noising = CreateNoising();
        var common = new DiffusionModelMetadata { ModelKind = ModelKind, SampleShape = [Dimension], NoiseSchedule = NoiseSchedule }.ToProperties();
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string key in new[] { DiffusionModelMetadata.FormatVersionKey, DiffusionModelMetadata.ModelKindKey, DiffusionModelMetadata.SampleShapeKey, DiffusionModelMetadata.NoiseScheduleKey, DiffusionModelMetadata.ExporterKey })
            map[key] = common[key];
        map[SeedKey] = Seed.ToString(CultureInfo.InvariantCulture);
        map[TimestepRangeKey] = JsonSerializer.Serialize(new[] { noising.MinTimestep, noising.MaxTimestep });
        map[RowKeySourceKey] = UseRowKeyInput ? RowKeyInput : RowKeyContent;
        map[GeneratorKey] = Generator;
        return map;
    }

    /// <summary>Reads the options back from a file written by <see cref="NoiseSchedulerOnnxExporter"/>.</summary>
    /// <param name="model">The model.</param>
    /// <param name="source">The file, for messages.</param>
    /// <returns>The options it was exported with (the timestep range resolved).</returns>
    /// <exception cref="InvalidDataException">The file is not a noise scheduler of this generator, or an entry is malformed.</exception>
    public static NoiseSchedulerOnnxExportOptions FromModel(OnnxModel model, string source = "the model")
    {
        ArgumentNullException.ThrowIfNull(model);
        var properties = model.Metadata;
        var common = DiffusionModelMetadata.FromProperties(properties, source);
        if (common.ModelKind != ModelKind || common.SampleShape.Count != 1 || common.NoiseSchedule is null)
            throw new InvalidDataException($"'{source}' is a '{common.ModelKind}' model, not a {ModelKind} with a one-axis row shape and a noise schedule.");
        string generator = Entry(properties, GeneratorKey, source);
        if (generator != Generator)
            throw new InvalidDataException($"'{source}' uses the generator '{generator}'; this library reproduces '{Generator}' only.");
        string seed = Entry(properties, SeedKey, source), range = Entry(properties, TimestepRangeKey, source), rowKeys = Entry(properties, RowKeySourceKey, source);
        int[]? timesteps;
        try
        {
            timesteps = JsonSerializer.Deserialize<int[]>(range);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"'{source}' has a malformed {TimestepRangeKey} = '{range}': {e.Message}", e);
        }
        if (!ulong.TryParse(seed, NumberStyles.None, CultureInfo.InvariantCulture, out ulong parsedSeed) || timesteps is not { Length: 2 } || rowKeys is not (RowKeyInput or RowKeyContent))
            throw new InvalidDataException($"'{source}' has malformed noising metadata: {SeedKey} = '{seed}', {TimestepRangeKey} = '{range}', {RowKeySourceKey} = '{rowKeys}'.");
        return new NoiseSchedulerOnnxExportOptions
        {
            NoiseSchedule = common.NoiseSchedule,
            Dimension = common.SampleShape[0],
            Seed = parsedSeed,
            UseRowKeyInput = rowKeys == RowKeyInput,
            MinTimestep = timesteps[0],
            MaxTimestep = timesteps[1],
            Opset = model.Opset,
        };
    }

    private static string Entry(IReadOnlyDictionary<string, string> properties, string key, string source)
        => properties.TryGetValue(key, out var value) ? value : throw new InvalidDataException($"'{source}' lacks the metadata entry {key}.");
}
