using Diffusion.ML.Sampling;

namespace Diffusion.ML.MLNet;

/// <summary>
/// Options of the generated-sample view made by <c>mlContext.Diffusion().Generate(...)</c>: how many samples, their seed,
/// the sampler (any of <see cref="Samplers.Names"/>), guidance, classes, batching, column names and output range.
/// </summary>
public sealed class GenerationViewOptions
{
    /// <summary>Rows (samples) of the view. Required: at least 1.</summary>
    public long Count { get; set; }

    /// <summary>
    /// Seed S: sample i is a function of (S, i) alone, drawn from the library's per-sample noise stream
    /// (<see cref="SampleNoise"/>), as the CLI's <c>generate</c> job draws it. Default 0.
    /// </summary>
    public long Seed { get; set; }

    /// <summary>
    /// Global index of the first row, so a large job can be split across views or processes: row r is sample
    /// <c>FirstIndex + r</c>, identical to that row of one view over all samples. Default 0.
    /// </summary>
    public long FirstIndex { get; set; }

    /// <summary>
    /// Samples denoised together; a batch is computed when the cursor first reads a generated value in it. Changes speed
    /// and memory, never the samples. Default 64.
    /// </summary>
    public int BatchSize { get; set; } = 64;

    /// <summary>The sampler, by one of the names of <see cref="Samplers.Names"/> (case-insensitive). Default "dpm-solver++-2m" (Lu et al. 2022), good at 10-25 steps.</summary>
    public string Sampler { get; set; } = "dpm-solver++-2m";

    /// <summary>Options of the sampler (e.g. DDIM's eta); each must be one the named sampler has. Null takes its defaults. Default null.</summary>
    public SamplerSettings? SamplerSettings { get; set; }

    /// <summary>Inference steps, in 1..T (the training timesteps), "leading" spacing as the saved sampler. Model evaluations per batch depend on the sampler (twice per step for Heun) and double under guidance. Default 20.</summary>
    public int Steps { get; set; } = 20;

    /// <summary>Classifier-free guidance scale w (Ho and Salimans 2022); 1 = the conditional model alone. Other values need a class-conditional model. Default 1.</summary>
    public float GuidanceScale { get; set; } = 1f;

    /// <summary>
    /// Classes cycled over the sample index (sample i gets <c>Classes[i mod Count]</c>, as the <c>generate</c> job) for a
    /// class-conditional model; null takes all of the model's classes. Must be null for an unconditional model. Default null.
    /// </summary>
    public IReadOnlyList<int>? Classes { get; set; }

    /// <summary>Column of the sample's global index (Int64). Default "Index".</summary>
    public string IndexColumnName { get; set; } = "Index";

    /// <summary>Column of the seed S the sample was drawn with (Int64; with the index it reproduces the sample). Default "Seed".</summary>
    public string SeedColumnName { get; set; } = "Seed";

    /// <summary>Column of the class (Int64, 0-based), present for a class-conditional model. Default "Label".</summary>
    public string LabelColumnName { get; set; } = "Label";

    /// <summary>Column of the samples: a float vector with the sample shape as its dimensions (e.g. [C, H, W]). Default "Generated".</summary>
    public string OutputColumnName { get; set; } = "Generated";

    /// <summary>
    /// Range of the written values: the model's [-1, 1] is mapped onto it. Null takes the training range of a denoiser
    /// from <c>TrainDenoiser</c> (pixels come back as they went in, latents unchanged) and the model's own values for the
    /// other sources. Default null.
    /// </summary>
    public PixelRange? OutputRange { get; set; }

    /// <summary>
    /// Whether the sampler clips its x0 estimates to [-1, 1] at every step (as diffusers' <c>clip_sample</c>). Null clips
    /// pixels and not latents, which are not bounded: a <see cref="DenoiserTransformer"/> trained on pixels (with a
    /// <c>PixelRange</c>) clips, one trained on latents (no <c>PixelRange</c>) does not; an ONNX export clips unless it is
    /// a latent model; an <c>IDenoiser</c> clips. Default null.
    /// </summary>
    public bool? ClipSample { get; set; }

    /// <summary>
    /// For the ONNX Runtime sources (a trained <see cref="DenoiserTransformer"/> or an ONNX file): the CUDA device to run
    /// on (needs the GPU build, docs/gpu.md); null runs on the CPU. An <c>IDenoiser</c> source runs where it lives. Default null.
    /// </summary>
    public int? GpuDeviceId { get; set; }

    /// <summary>
    /// For the ONNX Runtime sources: the most rows one ONNX Runtime run evaluates (a guided sample is two rows); a batch of
    /// more runs in consecutive runs, with the same samples. Null takes <see cref="OnnxRuntime.OnnxDenoiserOptions.CpuEvaluationBatch"/>
    /// on the CPU and the whole batch on a GPU. An <c>IDenoiser</c> source keeps its own (e.g. <c>TorchSharpDenoiser.MaxEvaluationBatch</c>).
    /// Default null.
    /// </summary>
    public int? MaxEvaluationBatch { get; set; }

    /// <summary>Checks the options against a model; every message names the option and what it may be.</summary>
    internal void Validate(int classCount, int trainTimesteps, bool onnxRuntime)
    {
        if (Count < 1) throw new ArgumentException($"Count must be at least 1 (the rows of the view); got {Count}.", nameof(Count));
        if (FirstIndex < 0 || FirstIndex > long.MaxValue - Count)
            throw new ArgumentException($"FirstIndex must be >= 0 with FirstIndex + Count within Int64; got {FirstIndex} for {Count} rows.", nameof(FirstIndex));
        if (BatchSize < 1) throw new ArgumentException($"BatchSize must be at least 1; got {BatchSize}.", nameof(BatchSize));
        if (Steps < 1 || Steps > trainTimesteps) throw new ArgumentException($"Steps must lie in 1..{trainTimesteps} (the training timesteps); got {Steps}.", nameof(Steps));
        if (!float.IsFinite(GuidanceScale) || GuidanceScale < 0) throw new ArgumentException($"GuidanceScale must be finite and >= 0; got {GuidanceScale}.", nameof(GuidanceScale));
        if (classCount == 0)
        {
            if (Classes is not null) throw new ArgumentException("The model is unconditional; set Classes to null.", nameof(Classes));
            if (GuidanceScale != 1f)
                throw new ArgumentException($"Classifier-free guidance (GuidanceScale {GuidanceScale}) needs a class-conditional model; this one is unconditional. Use 1.", nameof(GuidanceScale));
        }
        else if (Classes is not null)
        {
            if (Classes.Count == 0) throw new ArgumentException("Classes is empty; give at least one class, or null for all of them.", nameof(Classes));
            foreach (int c in Classes)
                if (c < 0 || c >= classCount)
                    throw new ArgumentException($"Class {c} is out of range: the model has {classCount} classes (0..{classCount - 1}).", nameof(Classes));
        }
        string[] columns = [IndexColumnName, SeedColumnName, .. classCount > 0 ? [LabelColumnName] : Array.Empty<string>(), OutputColumnName];
        if (columns.Any(string.IsNullOrEmpty)) throw new ArgumentException("Column names must be non-empty.");
        if (columns.Distinct(StringComparer.Ordinal).Count() != columns.Length)
            throw new ArgumentException($"The view's column names must differ; got {string.Join(", ", columns.Select(c => $"'{c}'"))}.");
        OutputRange?.Validate(nameof(OutputRange));
        if (GpuDeviceId is not null && !onnxRuntime)
            throw new ArgumentException("GpuDeviceId applies to the ONNX Runtime sources; an IDenoiser runs where it lives " +
                "(e.g. a TorchSharpDenoiser on a CUDA device). Set it to null.", nameof(GpuDeviceId));
        if (MaxEvaluationBatch is not null && !onnxRuntime)
            throw new ArgumentException("MaxEvaluationBatch applies to the ONNX Runtime sources; an IDenoiser keeps its own " +
                "(e.g. TorchSharpDenoiser.MaxEvaluationBatch). Set it to null.", nameof(MaxEvaluationBatch));
        if (MaxEvaluationBatch is < 1)
            throw new ArgumentException($"MaxEvaluationBatch must be at least 1, or null for the default; got {MaxEvaluationBatch}.", nameof(MaxEvaluationBatch));
    }
}
