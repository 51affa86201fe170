namespace Diffusion.ML.Sampling;

/// <summary>What to generate and how; every default is documented on its property.</summary>
public sealed record GenerationOptions
{
    /// <summary>Number of samples. Default 16.</summary>
    public int Count { get; init; } = 16;

    /// <summary>Seed. Sample i depends only on (Seed, FirstIndex + i), never on the batch size. Default 0.</summary>
    public long Seed { get; init; }

    /// <summary>Index of the first sample, so a large job can be split into shards that reproduce the whole. Default 0.</summary>
    public long FirstIndex { get; init; }

    /// <summary>Samples evaluated together by the denoiser. Default 16.</summary>
    public int BatchSize { get; init; } = 16;

    /// <summary>Number of inference steps when <see cref="Timesteps"/> is not given. Default 50.</summary>
    public int NumInferenceSteps { get; init; } = 50;

    /// <summary>How the inference timesteps are spaced. Default <see cref="TimestepSpacing.Leading"/> (diffusers' DDIM default).</summary>
    public TimestepSpacing TimestepSpacing { get; init; } = TimestepSpacing.Leading;

    /// <summary>Offset added to leading-spaced timesteps (diffusers' <c>steps_offset</c>). Default 0.</summary>
    public int StepsOffset { get; init; }

    /// <summary>An explicit, strictly descending list of timesteps; overrides the step count and spacing. Default null.</summary>
    public IReadOnlyList<int>? Timesteps { get; init; }

    /// <summary>
    /// Class of each sample for a class-conditional model: sample index i gets ClassLabels[i mod Count]. Null samples a
    /// conditional model unconditionally (null class). Default null.
    /// </summary>
    public IReadOnlyList<int>? ClassLabels { get; init; }

    /// <summary>Classifier-free guidance scale w: output = uncond + w (cond - uncond) (Ho and Salimans 2022). 1 disables guidance. Default 1.</summary>
    public double GuidanceScale { get; init; } = 1.0;

    /// <summary>
    /// Guidance rescale phi in [0, 1] (Lin et al. 2024, sec. 3.4, eq. 15-16; diffusers' <c>guidance_rescale</c>): the guided
    /// model output is rescaled, per sample, to the standard deviation of the conditional one and mixed with the unrescaled
    /// output by phi (see <see cref="Guidance.Apply"/>). Only acts with guidance (scale != 1). The paper suggests 0.7.
    /// Default 0 (off).
    /// </summary>
    public double GuidanceRescale { get; init; }

    /// <summary>
    /// Dynamic thresholding of x_0 (Saharia et al. 2022, "Imagen", sec. 2.3) in place of static clipping: the quantile q in
    /// (0, 1] of |x_0| per sample gives s = min(max(s, 1), <see cref="DynamicThresholdingMaxValue"/>), and x_0 becomes
    /// clip(x_0, -s, s) / s (see <see cref="Thresholding.Dynamic"/>). diffusers' <c>dynamic_thresholding_ratio</c> (0.995 there).
    /// When set, <see cref="ClipSample"/> is ignored, as in diffusers. Default null (off).
    /// </summary>
    public double? DynamicThresholdingQuantile { get; init; }

    /// <summary>
    /// Upper bound (&gt;= 1) of the dynamic threshold s (diffusers' <c>sample_max_value</c>, 1.5 in DeepFloyd IF). Default
    /// +infinity, Imagen's rule; diffusers' default of 1 would make dynamic thresholding the same as clipping to [-1, 1].
    /// </summary>
    public double DynamicThresholdingMaxValue { get; init; } = double.PositiveInfinity;

    /// <summary>
    /// Images to edit (img2img / SDEdit, Meng et al. 2022), in the model's data range, laid out one after another: sample i is
    /// an edit of image (FirstIndex + i) mod m of the m given. Each is noised to the first timestep kept by
    /// <see cref="Strength"/> with q(x_t | x_0) (Ho et al. 2020, eq. 4), using the sample's own noise stream, and the sampler
    /// runs from there. Default null (generate from pure noise).
    /// </summary>
    public IReadOnlyList<float>? InitialImages { get; init; }

    /// <summary>
    /// How far <see cref="InitialImages"/> are pushed into the noise, in [0, 1] (diffusers' img2img <c>strength</c>): of the
    /// n inference timesteps only the last floor(n Strength) are run. Below 1/n nothing is run and the images come back
    /// unchanged; at 1 the sampler starts from pure noise, exactly as without initial images (the images then have no effect,
    /// as in diffusers' inpainting pipeline). Ignored without initial images. Default 0.8 (diffusers' default).
    /// </summary>
    public double Strength { get; init; } = 0.8;

    /// <summary>Clip each x_0 estimate to [-ClipSampleRange, ClipSampleRange] (diffusers' <c>clip_sample</c>). Default true.</summary>
    public bool ClipSample { get; init; } = true;

    /// <summary>Clipping bound for <see cref="ClipSample"/>. Default 1.</summary>
    public double ClipSampleRange { get; init; } = 1.0;
}

/// <summary>Progress of a generation run, reported after each model evaluation.</summary>
/// <param name="SamplesDone">Samples finished before the current batch.</param>
/// <param name="SamplesTotal">Samples requested.</param>
/// <param name="BatchSize">Samples in the current batch.</param>
/// <param name="Step">Model evaluations done in the current batch (one per step for single-step samplers).</param>
/// <param name="Steps">Model evaluations per batch (<see cref="ISampler.ModelEvaluations"/>).</param>
public readonly record struct GenerationProgress(int SamplesDone, int SamplesTotal, int BatchSize, int Step, int Steps);
