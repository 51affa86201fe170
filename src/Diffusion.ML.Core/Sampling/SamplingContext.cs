using Diffusion.ML.Schedules;

namespace Diffusion.ML.Sampling;

/// <summary>
/// What a sampler sees of one batch: the schedule, the timesteps to visit, the model as x_0 / eps estimates (with
/// classifier-free guidance (and its rescale), prediction-type conversion and clipping or dynamic thresholding already
/// applied), and each sample's own noise stream,
/// so that a sample depends only on (seed, index) and never on the batch it was computed in. Created by
/// <see cref="DiffusionPipeline"/>; a custom <see cref="ISampler"/> uses it to call the model.
/// </summary>
public sealed class SamplingContext
{
    private readonly IDenoiser _denoiser;
    private readonly GenerationOptions _options;
    private readonly SampleNoise[] _noise;
    private readonly int[] _labels;
    private readonly float[] _modelInput, _modelTimesteps, _modelOutput, _modelRawOutput, _varianceValues;
    private readonly float[] _thresholdScratch;
    private readonly Action<int> _reportEvaluation;
    private readonly double[] _rowTimesteps;
    private int _evaluations;

    internal SamplingContext(IDenoiser denoiser, NoiseSchedule schedule, GenerationOptions options, IReadOnlyList<int> timesteps,
        long firstIndex, int batchSize, Action<int> reportEvaluation, CancellationToken cancellationToken)
    {
        _denoiser = denoiser;
        _options = options;
        Schedule = schedule;
        Timesteps = timesteps;
        BatchSize = batchSize;
        SampleSize = denoiser.SampleShape.Aggregate(1, (a, b) => a * b);
        CancellationToken = cancellationToken;
        _reportEvaluation = reportEvaluation;
        _noise = new SampleNoise[batchSize];
        for (int b = 0; b < batchSize; b++) _noise[b] = new SampleNoise(options.Seed, firstIndex + b);

        bool guided = options.GuidanceScale != 1.0;
        int evalBatch = guided ? 2 * batchSize : batchSize;
        _labels = BuildLabels(denoiser.ClassCount, options, firstIndex, batchSize, guided);
        _modelInput = new float[evalBatch * SampleSize];
        _modelTimesteps = new float[evalBatch];
        _rowTimesteps = new double[batchSize];
        _modelOutput = new float[evalBatch * SampleSize];
        _modelRawOutput = denoiser.LearnsVariance ? new float[2 * evalBatch * SampleSize] : _modelOutput;
        _varianceValues = denoiser.LearnsVariance ? new float[batchSize * SampleSize] : [];
        _thresholdScratch = options.DynamicThresholdingQuantile is null ? [] : new float[SampleSize];
    }

    /// <summary>The training noise schedule.</summary>
    public NoiseSchedule Schedule { get; }

    /// <summary>The descending training timesteps to visit (from the spacing, or the user's list).</summary>
    public IReadOnlyList<int> Timesteps { get; }

    /// <summary>Samples in the batch.</summary>
    public int BatchSize { get; }

    /// <summary>Values per sample; the batch holds <see cref="BatchSize"/> * <see cref="SampleSize"/> values.</summary>
    public int SampleSize { get; }

    /// <summary>Model evaluations made so far in this batch.</summary>
    public int Evaluations => _evaluations;

    /// <summary>Checked before every model evaluation.</summary>
    public CancellationToken CancellationToken { get; }

    /// <summary>The target of step <paramref name="k"/>: the next listed timestep, or -1 (the clean sample) after the last.</summary>
    public int TargetOf(int k) => k + 1 < Timesteps.Count ? Timesteps[k + 1] : -1;

    /// <summary>
    /// Evaluates the model on the whole batch at timestep <paramref name="t"/> (fractional values allowed, see
    /// <see cref="NoiseSchedule.InterpolatedAlphaBar"/>) and returns its x_0 and eps estimates: classifier-free guidance
    /// on the model output (with <see cref="GenerationOptions.GuidanceRescale"/>), then the conversion of
    /// <see cref="ModelOutputs"/>, then dynamic thresholding (<see cref="GenerationOptions.DynamicThresholdingQuantile"/>) or
    /// else static clipping (<see cref="GenerationOptions.ClipSample"/>) of x_0, as the options ask. The eps estimate is the
    /// model's (diffusers' default <c>use_clipped_model_output = False</c>): only x_0 is thresholded or clipped.
    /// </summary>
    /// <param name="x">The batch x_t.</param>
    /// <param name="t">The timestep.</param>
    /// <param name="x0">Receives the x_0 estimates.</param>
    /// <param name="eps">Receives the eps estimates.</param>
    /// <returns>alpha-bar at <paramref name="t"/> as the model saw it.</returns>
    public double Denoise(ReadOnlySpan<float> x, double t, Span<float> x0, Span<float> eps)
    {
        Array.Fill(_rowTimesteps, t);
        Denoise(x, _rowTimesteps, x0, eps);
        return Schedule.InterpolatedAlphaBar((float)t);
    }

    /// <summary>
    /// As <see cref="Denoise(ReadOnlySpan{float}, double, Span{float}, Span{float})"/>, with one timestep per sample, for
    /// solvers whose samples advance on their own time grids (adaptive step-size control per sample): still one model call.
    /// </summary>
    /// <param name="x">The batch x_t.</param>
    /// <param name="timesteps">The timestep of each sample (<see cref="BatchSize"/> values).</param>
    /// <param name="x0">Receives the x_0 estimates.</param>
    /// <param name="eps">Receives the eps estimates.</param>
    public void Denoise(ReadOnlySpan<float> x, ReadOnlySpan<double> timesteps, Span<float> x0, Span<float> eps)
    {
        CancellationToken.ThrowIfCancellationRequested();
        int n = BatchSize * SampleSize;
        if (x.Length != n || x0.Length != n || eps.Length != n)
            throw new ArgumentException($"Denoise takes spans of the batch length {n}; got {x.Length}, {x0.Length} and {eps.Length}.");
        if (timesteps.Length != BatchSize)
            throw new ArgumentException($"Denoise takes one timestep per sample ({BatchSize}); got {timesteps.Length}.", nameof(timesteps));
        bool guided = _modelInput.Length != n;
        for (int b = 0; b < BatchSize; b++)
        {
            _modelTimesteps[b] = (float)timesteps[b];
            if (guided) _modelTimesteps[BatchSize + b] = (float)timesteps[b];
        }
        x.CopyTo(_modelInput);
        if (guided) x.CopyTo(_modelInput.AsSpan(n));
        _denoiser.Predict(_modelInput, _modelTimesteps, _labels, _modelRawOutput);
        if (_denoiser.LearnsVariance) SplitVarianceValues(guided ? 2 * BatchSize : BatchSize);
        if (guided) Guidance.Apply(_modelOutput, n, SampleSize, _options.GuidanceScale, _options.GuidanceRescale);

        for (int b = 0; b < BatchSize; b++)
        {
            var row = new Range(b * SampleSize, (b + 1) * SampleSize);
            ModelOutputs.ToSampleAndNoise(_denoiser.PredictionType, Schedule.InterpolatedAlphaBar(_modelTimesteps[b]), x[row],
                _modelOutput.AsSpan(row), x0[row], eps[row]);
        }
        if (_options.DynamicThresholdingQuantile is { } quantile)
            Thresholding.Dynamic(x0, SampleSize, quantile, _options.DynamicThresholdingMaxValue, _thresholdScratch);
        else if (_options.ClipSample) Clip(x0, (float)_options.ClipSampleRange);
        _reportEvaluation(++_evaluations);
    }

    /// <summary>Whether the model outputs variance values (<see cref="IDenoiser.LearnsVariance"/>).</summary>
    public bool HasVarianceValues => _denoiser.LearnsVariance;

    /// <summary>
    /// The variance values v in [-1, 1] of the last <see cref="Denoise(ReadOnlySpan{float}, double, Span{float}, Span{float})"/>
    /// (the batch length), for models that learn their variance; with guidance they are the conditional model's, as in
    /// GLIDE (Nichol et al. 2022). Empty for other models.
    /// </summary>
    public ReadOnlySpan<float> VarianceValues => _varianceValues;

    /// <summary>Separates each row's prediction from its variance values (model output: prediction, then v, per sample).</summary>
    private void SplitVarianceValues(int rows)
    {
        for (int r = 0; r < rows; r++)
        {
            _modelRawOutput.AsSpan(2 * r * SampleSize, SampleSize).CopyTo(_modelOutput.AsSpan(r * SampleSize));
            if (r < BatchSize) _modelRawOutput.AsSpan((2 * r + 1) * SampleSize, SampleSize).CopyTo(_varianceValues.AsSpan(r * SampleSize));
        }
    }

    /// <summary>Fills <paramref name="noise"/> (the batch length) with fresh N(0, I) draws, each sample from its own stream.</summary>
    public void DrawNoise(Span<float> noise)
    {
        if (noise.Length != BatchSize * SampleSize)
            throw new ArgumentException($"DrawNoise fills the batch length {BatchSize * SampleSize}; got {noise.Length}.", nameof(noise));
        for (int b = 0; b < BatchSize; b++) _noise[b].FillStandardNormal(noise.Slice(b * SampleSize, SampleSize));
    }

    private static int[] BuildLabels(int classes, GenerationOptions options, long firstIndex, int batch, bool guided)
    {
        if (classes == 0) return [];
        var labels = new int[guided ? 2 * batch : batch];
        for (int b = 0; b < batch; b++)
            labels[b] = options.ClassLabels is { } l ? l[(int)((firstIndex + b) % l.Count)] : classes;
        if (guided) Array.Fill(labels, classes, batch, batch); // second half: null class
        return labels;
    }

    private static void Clip(Span<float> values, float bound)
    {
        for (int i = 0; i < values.Length; i++) values[i] = Math.Clamp(values[i], -bound, bound);
    }
}
