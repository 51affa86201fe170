using Diffusion.ML.Schedules;

namespace Diffusion.ML.Sampling;

/// <summary>
/// The sampling loop (diffusers' pipeline shape): resolve the timesteps, then for each batch draw x_T and let an
/// <see cref="ISampler"/> run the reverse process through a <see cref="SamplingContext"/>, which turns the denoiser's output
/// into x_0 and eps estimates. Works with any <see cref="IDenoiser"/> backend. Editing: img2img / SDEdit through
/// <see cref="GenerationOptions.InitialImages"/> with any sampler, and inpainting with RePaint (<see cref="Inpaint"/>).
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

    /// <summary>
    /// Generates <see cref="GenerationOptions.Count"/> samples, laid out one after another. With
    /// <see cref="GenerationOptions.InitialImages"/> this is img2img / SDEdit (Meng et al. 2022): each sample starts from its
    /// image noised to the first timestep that <see cref="GenerationOptions.Strength"/> keeps (see
    /// <see cref="TimestepsForStrength"/>), and any sampler runs the remaining timesteps.
    /// </summary>
    /// <exception cref="ArgumentException">The options do not fit the model (bad class label, guidance without classes, bad
    /// timesteps, initial images of the wrong size, out-of-range guidance rescale, thresholding or strength).</exception>
    public float[] Generate(ISampler sampler, GenerationOptions options, IProgress<GenerationProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(sampler);
        ArgumentNullException.ThrowIfNull(options);
        int[] timesteps = ResolveTimesteps(options);
        ValidateOptions(options);
        float[]? initial = null;
        if (options.InitialImages is { } images)
        {
            initial = CheckImages(images, nameof(GenerationOptions.InitialImages));
            if (!(options.Strength >= 0 && options.Strength <= 1))
                throw new ArgumentOutOfRangeException(nameof(options), options.Strength, "Strength must lie in [0, 1].");
            timesteps = TimestepsForStrength(timesteps, options.Strength);
        }

        var result = new float[(long)options.Count * SampleSize];
        int evaluations = timesteps.Length == 0 ? 0 : sampler.ModelEvaluations(timesteps.Length);
        for (int done = 0; done < options.Count; done += options.BatchSize)
        {
            int batch = Math.Min(options.BatchSize, options.Count - done);
            var span = result.AsSpan(done * SampleSize, batch * SampleSize);
            GenerateBatch(sampler, options, timesteps, initial, options.FirstIndex + done, batch, span,
                evaluation => progress?.Report(new GenerationProgress(done, options.Count, batch, evaluation, evaluations)), cancellationToken);
        }
        return result;
    }

    /// <summary>
    /// Inpaints with RePaint (Lugmayr et al. 2022, Alg. 1 with the resampling schedule of sec. 4.2, see
    /// <see cref="RePaintSchedule"/>): from x_T ~ N(0, I), every reverse step t -> s computes the unknown region with
    /// <paramref name="sampler"/>'s step and the known region as a fresh draw of q(x_s | x_0^known) (Alg. 1, lines 5-8), and
    /// every jump back renoises the whole sample by q(x_{t'} | x_s) (line 10, j steps at once). All noise comes from each
    /// sample's own stream. The result reproduces the known region exactly: where the mask is 1 the known values are pasted
    /// into the output at the end (the last step's known part is x_0^known already; the paste makes it exact whatever
    /// the sampler does), and where it is fractional the output is m known + (1 - m) generated.
    /// <para>
    /// Unlike diffusers' <c>RePaintScheduler</c>, which reuses one draw for the sampler noise and the known region's noise,
    /// the two draws here are independent, as in the paper; and the jump positions follow the authors' schedule
    /// (<see cref="RePaintSchedule.Create"/>), which diffusers shifts by one step (so that its last jumps start from the
    /// clean sample). Forward jumps of j steps are one draw of q(x_{t+j} | x_t), the same law as j single-step draws.
    /// RePaint is an approximation: even with the exact denoiser the unknown region only approaches the true conditional
    /// distribution as the steps and r grow. Only single-step samplers fit RePaint:
    /// a multistep solver's history is invalidated by every jump back.
    /// </para>
    /// </summary>
    /// <param name="sampler">The reverse step; null for RePaint's own, ancestral DDPM with the fixed-small variance.
    /// <see cref="DdimSampler"/> works too (diffusers' <c>eta</c>).</param>
    /// <param name="inpainting">Known images, mask and resampling schedule.</param>
    /// <param name="options">Count, seed, batch size, timesteps, guidance and clipping, as for <see cref="Generate"/>;
    /// <see cref="GenerationOptions.InitialImages"/> must be null.</param>
    /// <param name="progress">Progress after each model evaluation.</param>
    /// <param name="cancellationToken">Checked before every model evaluation.</param>
    /// <returns><see cref="GenerationOptions.Count"/> samples, laid out one after another.</returns>
    /// <exception cref="ArgumentException">The images or mask do not fit the model, or the options are invalid.</exception>
    public float[] Inpaint(SingleStepSampler? sampler, InpaintingOptions inpainting, GenerationOptions options,
        IProgress<GenerationProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(inpainting);
        ArgumentNullException.ThrowIfNull(options);
        sampler ??= new DdpmSampler(DdpmVarianceType.FixedSmall);
        int[] timesteps = ResolveTimesteps(options);
        ValidateOptions(options);
        if (options.InitialImages is not null)
            throw new ArgumentException("Inpaint takes its images in InpaintingOptions.KnownImages; GenerationOptions.InitialImages must be null.", nameof(options));
        float[] known = CheckImages(inpainting.KnownImages, nameof(InpaintingOptions.KnownImages));
        ArgumentNullException.ThrowIfNull(inpainting.Mask);
        float[] mask = inpainting.Mask.ToArray();
        if (mask.Length != SampleSize && mask.Length != known.Length)
            throw new ArgumentException(
                $"The mask has {mask.Length} values; it needs one sample ({SampleSize}) or one per known image ({known.Length}).", nameof(inpainting));
        if (mask.Any(m => !(m >= 0 && m <= 1)))
            throw new ArgumentException("Mask values must lie in [0, 1] (1 = keep the known value, 0 = generate).", nameof(inpainting));
        if (inpainting.JumpLength < 1 || inpainting.Resampling < 1)
            throw new ArgumentOutOfRangeException(nameof(inpainting), $"JumpLength and Resampling must be >= 1; got {inpainting.JumpLength} and {inpainting.Resampling}.");

        int[] path = RePaintSchedule.Create(timesteps.Length, inpainting.JumpLength, inpainting.Resampling);
        int evaluations = path.Zip(path.Skip(1)).Count(p => p.Second == p.First + 1);
        var result = new float[(long)options.Count * SampleSize];
        for (int done = 0; done < options.Count; done += options.BatchSize)
        {
            int batch = Math.Min(options.BatchSize, options.Count - done);
            var span = result.AsSpan(done * SampleSize, batch * SampleSize);
            InpaintBatch(sampler, options, timesteps, path, known, mask, options.FirstIndex + done, batch, span,
                evaluation => progress?.Report(new GenerationProgress(done, options.Count, batch, evaluation, evaluations)), cancellationToken);
        }
        return result;
    }

    /// <summary>
    /// The timesteps img2img runs at strength <paramref name="strength"/> (diffusers' <c>get_timesteps</c>): the last
    /// floor(n strength) of the n given, so strength 1 keeps them all and strength below 1/n none.
    /// </summary>
    /// <param name="timesteps">The descending inference timesteps.</param>
    /// <param name="strength">Strength in [0, 1].</param>
    public static int[] TimestepsForStrength(IReadOnlyList<int> timesteps, double strength)
    {
        ArgumentNullException.ThrowIfNull(timesteps);
        if (!(strength >= 0 && strength <= 1)) throw new ArgumentOutOfRangeException(nameof(strength), strength, "Strength must lie in [0, 1].");
        int n = timesteps.Count;
        int kept = Math.Min((int)(n * strength), n);
        return timesteps.Skip(n - kept).ToArray();
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

    private void ValidateOptions(GenerationOptions options)
    {
        ValidateConditioning(options);
        if (options.Count < 0) throw new ArgumentOutOfRangeException(nameof(options), options.Count, "Count must be >= 0.");
        if (options.BatchSize < 1) throw new ArgumentOutOfRangeException(nameof(options), options.BatchSize, "BatchSize must be >= 1.");
        if (!(options.GuidanceRescale >= 0 && options.GuidanceRescale <= 1))
            throw new ArgumentOutOfRangeException(nameof(options), options.GuidanceRescale, "GuidanceRescale must lie in [0, 1].");
        if (options.DynamicThresholdingQuantile is { } quantile) Thresholding.Validate(quantile, options.DynamicThresholdingMaxValue);
    }

    private float[] CheckImages(IReadOnlyList<float> images, string name)
    {
        if (images.Count == 0 || images.Count % SampleSize != 0)
            throw new ArgumentException($"{name} has {images.Count} values; it needs a positive multiple of the sample size {SampleSize}.", name);
        return images.ToArray();
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

    private void GenerateBatch(ISampler sampler, GenerationOptions options, int[] timesteps, float[]? initial, long firstIndex, int batch,
        Span<float> x, Action<int> reportEvaluation, CancellationToken cancellationToken)
    {
        if (timesteps.Length == 0)
        {
            // Strength below 1/n: nothing to run, the images come back unchanged.
            for (int b = 0; b < batch; b++) ImageOf(initial!, firstIndex + b).CopyTo(x.Slice(b * SampleSize, SampleSize));
            return;
        }
        var context = new SamplingContext(Denoiser, Schedule, options, timesteps, firstIndex, batch, reportEvaluation, cancellationToken);
        context.DrawNoise(x); // x_T ~ N(0, I)
        if (initial is not null && options.Strength < 1)
        {
            // SDEdit: x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps at the first kept timestep   (Meng et al. 2022, sec. 3.2; Ho et al. 2020, eq. 4)
            double alphaBar = Schedule.AlphaBar[timesteps[0]];
            for (int b = 0; b < batch; b++)
            {
                var sample = x.Slice(b * SampleSize, SampleSize);
                ForwardProcess.Noise(ImageOf(initial, firstIndex + b), alphaBar, sample, sample);
            }
        }
        sampler.Sample(context, x);
    }

    private void InpaintBatch(SingleStepSampler sampler, GenerationOptions options, int[] timesteps, int[] path, float[] known, float[] mask,
        long firstIndex, int batch, Span<float> x, Action<int> reportEvaluation, CancellationToken cancellationToken)
    {
        var context = new SamplingContext(Denoiser, Schedule, options, timesteps, firstIndex, batch, reportEvaluation, cancellationToken);
        int n = batch * SampleSize;
        var known0 = new float[n];
        var masks = new float[n];
        for (int b = 0; b < batch; b++)
        {
            ImageOf(known, firstIndex + b).CopyTo(known0.AsSpan(b * SampleSize, SampleSize));
            MaskOf(mask, firstIndex + b).CopyTo(masks.AsSpan(b * SampleSize, SampleSize));
        }
        var x0 = new float[n];
        var eps = new float[n];
        var noise = new float[n];
        var next = new float[n];
        var knownNoise = new float[n];
        context.DrawNoise(x); // x_T ~ N(0, I)   (Lugmayr et al. 2022, Alg. 1, line 1)
        for (int i = 1; i < path.Length; i++)
        {
            int from = path[i - 1], to = path[i];
            if (to == from + 1)
            {
                int t = timesteps[from], s = context.TargetOf(from);
                // Unknown region: one reverse step of the sampler   (Alg. 1, lines 6-7)
                context.Denoise(x, t, x0, eps);
                bool usesNoise = sampler.UsesNoise(t, s);
                if (usesNoise) context.DrawNoise(noise);
                sampler.Step(context, t, s, x, x0, eps, usesNoise ? noise : ReadOnlySpan<float>.Empty, next);
                // Known region: x_s^known ~ q(x_s | x_0^known) with fresh noise   (Alg. 1, line 5)
                double alphaBarS = Schedule.AlphaBarAt(s);
                if (s >= 0)
                {
                    context.DrawNoise(knownNoise);
                    ForwardProcess.Noise(known0, alphaBarS, knownNoise, knownNoise);
                }
                else known0.CopyTo(knownNoise);
                // x_s = m * x_s^known + (1 - m) * x_s^unknown   (Alg. 1, line 8)
                Blend(masks, knownNoise, next, x);
            }
            else
            {
                // Jump back j steps: x_t' ~ q(x_t' | x_t)   (Alg. 1, line 10, composed over the jump)
                context.DrawNoise(noise);
                ForwardProcess.Renoise(x, Schedule.AlphaBar[timesteps[from]], Schedule.AlphaBar[timesteps[to]], noise, x);
            }
        }
        Blend(masks, known0, x, x); // paste the known region: exact where the mask is 1
    }

    private static void Blend(ReadOnlySpan<float> mask, ReadOnlySpan<float> known, ReadOnlySpan<float> generated, Span<float> result)
    {
        for (int i = 0; i < result.Length; i++)
        {
            float m = mask[i];
            result[i] = m == 1f ? known[i] : m == 0f ? generated[i] : m * known[i] + (1 - m) * generated[i];
        }
    }

    private ReadOnlySpan<float> ImageOf(float[] images, long sampleIndex)
    {
        int count = images.Length / SampleSize;
        return images.AsSpan((int)(sampleIndex % count) * SampleSize, SampleSize);
    }

    private ReadOnlySpan<float> MaskOf(float[] mask, long sampleIndex) =>
        mask.Length == SampleSize ? mask : ImageOf(mask, sampleIndex);
}
