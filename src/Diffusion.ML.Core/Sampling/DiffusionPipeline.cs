using Diffusion.ML.Schedules;

namespace Diffusion.ML.Sampling;

/// <summary>
/// The sampling loop (diffusers' pipeline shape): draw x_T, then for each timestep call the denoiser, turn its output into
/// x_0 and eps estimates, and let an <see cref="ISampler"/> take the step. Works with any <see cref="IDenoiser"/> backend.
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
        for (int done = 0; done < options.Count; done += options.BatchSize)
        {
            int batch = Math.Min(options.BatchSize, options.Count - done);
            var span = result.AsSpan(done * SampleSize, batch * SampleSize);
            GenerateBatch(sampler, options, timesteps, options.FirstIndex + done, batch, span,
                step => progress?.Report(new GenerationProgress(done, options.Count, batch, step, timesteps.Length)), cancellationToken);
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
        Span<float> x, Action<int> reportStep, CancellationToken cancellationToken)
    {
        int d = SampleSize, n = batch * d;
        var noiseStreams = new SampleNoise[batch];
        for (int b = 0; b < batch; b++)
        {
            noiseStreams[b] = new SampleNoise(options.Seed, firstIndex + b);
            noiseStreams[b].FillStandardNormal(x.Slice(b * d, d)); // x_T ~ N(0, I)
        }

        bool guided = options.GuidanceScale != 1.0;
        int evalBatch = guided ? 2 * batch : batch;
        int[] labels = BuildLabels(options, firstIndex, batch, guided);
        var modelInput = new float[evalBatch * d];
        var modelTimesteps = new float[evalBatch];
        var modelOutput = new float[evalBatch * d];
        var x0 = new float[n];
        var eps = new float[n];
        var noise = new float[n];
        var next = new float[n];

        for (int k = 0; k < timesteps.Length; k++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int t = timesteps[k], s = k + 1 < timesteps.Length ? timesteps[k + 1] : -1;
            x.CopyTo(modelInput);
            if (guided) x.CopyTo(modelInput.AsSpan(n));
            Array.Fill(modelTimesteps, t);
            Denoiser.Predict(modelInput, modelTimesteps, labels, modelOutput);
            if (guided) ApplyGuidance(modelOutput, n, options.GuidanceScale);

            double alphaBar = Schedule.AlphaBarAt(t);
            ModelOutputs.ToSampleAndNoise(Denoiser.PredictionType, alphaBar, x, modelOutput.AsSpan(0, n), x0, eps);
            if (options.ClipSample) Clip(x0, (float)options.ClipSampleRange);

            bool usesNoise = sampler.UsesNoise(t, s);
            if (usesNoise)
                for (int b = 0; b < batch; b++) noiseStreams[b].FillStandardNormal(noise.AsSpan(b * d, d));
            sampler.Step(Schedule, t, s, x, x0, eps, usesNoise ? noise : ReadOnlySpan<float>.Empty, next);
            next.CopyTo(x);
            reportStep(k + 1);
        }
    }

    private int[] BuildLabels(GenerationOptions options, long firstIndex, int batch, bool guided)
    {
        int classes = Denoiser.ClassCount;
        if (classes == 0) return [];
        var labels = new int[guided ? 2 * batch : batch];
        for (int b = 0; b < batch; b++)
            labels[b] = options.ClassLabels is { } l ? l[(int)((firstIndex + b) % l.Count)] : classes;
        if (guided) Array.Fill(labels, classes, batch, batch); // second half: null class
        return labels;
    }

    // Classifier-free guidance: eps = eps_uncond + w (eps_cond - eps_uncond)   (Ho and Salimans 2022, eq. 6)
    private static void ApplyGuidance(Span<float> output, int n, double scale)
    {
        for (int i = 0; i < n; i++)
        {
            float cond = output[i], uncond = output[n + i];
            output[i] = (float)(uncond + scale * (cond - uncond));
        }
    }

    private static void Clip(Span<float> values, float bound)
    {
        for (int i = 0; i < values.Length; i++) values[i] = Math.Clamp(values[i], -bound, bound);
    }
}
