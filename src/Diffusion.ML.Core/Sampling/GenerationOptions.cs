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
