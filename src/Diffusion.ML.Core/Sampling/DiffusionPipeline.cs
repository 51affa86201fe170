using Diffusion.ML.Schedules;

namespace Diffusion.ML.Sampling;

/// <summary>
/// The sampling loop (diffusers' pipeline shape): resolve the timesteps, then for each batch draw x_T and let an
/// <see cref="ISampler"/> run the reverse process through a <see cref="SamplingContext"/>, which turns the denoiser's output
/// into x_0 and eps estimates. Works with any <see cref="IDenoiser"/> backend.
/// Outputs are in the model's data range (images: [-1, 1]).
/// </summary>
public sealed class DiffusionPipeline
{
    /// <summary>Creates a pipeline for a denoiser trained under <paramref name="schedule"/>.</summary>
    public DiffusionPipeline(IDenoiser denoiser, NoiseSchedule schedule)
    {
        Denoiser = denoiser ?? throw new ArgumentNullException(nameof(denoiser));
        Schedule = schedule ?? throw new ArgumentNullException(nameof(schedule));
        SampleSize = denoiser.SampleShape.Aggregate(1, (a, b) => a * b);
    }

    /// <summary>The denoiser.</summary>
    public IDenoiser Denoiser { get; }

    /// <summary>The training noise schedule.</summary>
    public NoiseSchedule Schedule { get; }

    /// <summary>Number of values in one sample.</summary>
    public int SampleSize { get; }

    /// <summary>Generates <see cref="GenerationOptions.Count"/> samples, laid out one after another.</summary>
    /// <exception cref="ArgumentException">The options do not fit the model (bad class label, guidance without classes, bad timesteps).</exception>
    public float[] Generate(ISampler sampler, GenerationOptions options, IProgress<GenerationProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(sampler);
        ArgumentNullException.ThrowIfNull(options);
        int[] timesteps = ResolveTimesteps(options);
        ValidateConditioning(options);
        if (options.Count < 0) throw new ArgumentOutOfRangeException(nameof(options), options.Count, "Count must be >= 0.");
        if (options.BatchSize < 1) throw new ArgumentOutOfRangeException(nameof(options), options.BatchSize, "BatchSize must be >= 1.");

        var result = new float[(long)options.Count * SampleSize];
        int evaluations = sampler.ModelEvaluations(timesteps.Length);
        for (int done = 0; done < options.Count; done += options.BatchSize)
        {
            int batch = Math.Min(options.BatchSize, options.Count - done);
            var span = result.AsSpan(done * SampleSize, batch * SampleSize);
            GenerateBatch(sampler, options, timesteps, options.FirstIndex + done, batch, span,
                evaluation => progress?.Report(new GenerationProgress(done, options.Count, batch, evaluation, evaluations)), cancellationToken);
        }
        return result;
    }

    private int[] ResolveTimesteps(GenerationOptions options)
    {
        int T = Schedule.NumTrainTimesteps;
        if (options.Timesteps is { } explicitTimesteps)
        {
            InferenceTimesteps.Validate(explicitTimesteps, T);
            return explicitTimesteps.ToArray();
        }
        return InferenceTimesteps.Create(T, options.NumInferenceSteps, options.TimestepSpacing, options.StepsOffset);
    }

    private void ValidateConditioning(GenerationOptions options)
    {
        int classes = Denoiser.ClassCount;
        if (options.ClassLabels is { } labels)
        {
            if (classes == 0)
                throw new ArgumentException("Class labels were given but the model is unconditional (it was trained without classes).", nameof(options));
            foreach (int label in labels)
                if (label < 0 || label >= classes)
                    throw new ArgumentException($"Class label {label} is outside [0, {classes - 1}].", nameof(options));
        }
        if (options.GuidanceScale != 1.0 && (classes == 0 || options.ClassLabels is null))
            throw new ArgumentException(
                $"Classifier-free guidance (scale {options.GuidanceScale}) needs a class-conditional model and class labels; use scale 1 otherwise.",
                nameof(options));
    }

    private void GenerateBatch(ISampler sampler, GenerationOptions options, int[] timesteps, long firstIndex, int batch,
        Span<float> x, Action<int> reportEvaluation, CancellationToken cancellationToken)
    {
        var context = new SamplingContext(Denoiser, Schedule, options, timesteps, firstIndex, batch, reportEvaluation, cancellationToken);
        context.DrawNoise(x); // x_T ~ N(0, I)
        sampler.Sample(context, x);
    }
}
