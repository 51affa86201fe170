using Diffusion.ML.Sampling;

namespace Diffusion.ML.Langevin;

/// <summary>
/// Annealed Langevin dynamics (Song and Ermon 2019, Alg. 1): starting from noise, for each noise level i = 1..L take
/// T steps x &lt;- x + alpha_i / 2 s(x, sigma_i) + sqrt(alpha_i) z with alpha_i = epsilon sigma_i^2 / sigma_L^2 and
/// z ~ N(0, I), optionally followed by one denoising step (<see cref="AnnealedLangevinOptions.FinalDenoising"/>).
/// Works with any <see cref="IScoreModel"/> backend.
/// </summary>
/// <remarks>
/// Every sample owns a random stream seeded from (seed, sample index) (<see cref="SampleNoise"/>) for its starting point and
/// all its step noise, so a sample depends only on (seed, index): the batch size never changes it, and
/// <see cref="AnnealedLangevinOptions.FirstIndex"/> splits a job into shards that reproduce the whole.
/// </remarks>
public sealed class AnnealedLangevinDynamics
{
    /// <summary>Creates the sampler.</summary>
    /// <param name="model">The noise conditional score model.</param>
    /// <param name="levels">The noise levels the model was trained on, largest first.</param>
    public AnnealedLangevinDynamics(IScoreModel model, NoiseLevels levels)
    {
        Model = model ?? throw new ArgumentNullException(nameof(model));
        Levels = levels ?? throw new ArgumentNullException(nameof(levels));
        SampleSize = model.SampleShape.Aggregate(1, (a, b) => checked(a * b));
    }

    /// <summary>The score model.</summary>
    public IScoreModel Model { get; }

    /// <summary>The noise levels, largest first.</summary>
    public NoiseLevels Levels { get; }

    /// <summary>Number of values in one sample.</summary>
    public int SampleSize { get; }

    /// <summary>Model evaluations per batch: L T, plus one with final denoising.</summary>
    public int ModelEvaluations(AnnealedLangevinOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return checked(Levels.Count * options.StepsPerLevel + (options.FinalDenoising ? 1 : 0));
    }

    /// <summary>Generates <see cref="AnnealedLangevinOptions.Count"/> samples, laid out one after another.</summary>
    /// <param name="options">What to generate.</param>
    /// <param name="progress">Receives progress after each model evaluation (<see cref="GenerationProgress.Steps"/> = <see cref="ModelEvaluations"/>).</param>
    /// <param name="cancellationToken">Stops generation before the next model evaluation.</param>
    /// <exception cref="ArgumentException">An option is out of range.</exception>
    public float[] Generate(AnnealedLangevinOptions options, IProgress<GenerationProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var result = new float[(long)options.Count * SampleSize];
        int evaluations = ModelEvaluations(options);
        for (int done = 0; done < options.Count; done += options.BatchSize)
        {
            int batch = Math.Min(options.BatchSize, options.Count - done);
            var x = result.AsSpan(done * SampleSize, batch * SampleSize);
            int samplesDone = done;
            GenerateBatch(options, options.FirstIndex + done, batch, x,
                evaluation => progress?.Report(new GenerationProgress(samplesDone, options.Count, batch, evaluation, evaluations)), cancellationToken);
        }
        return result;
    }

    private void GenerateBatch(AnnealedLangevinOptions options, long firstIndex, int batch, Span<float> x, Action<int> report,
        CancellationToken cancellationToken)
    {
        int n = SampleSize, evaluation = 0;
        var streams = new SampleNoise[batch];
        for (int b = 0; b < batch; b++) streams[b] = new SampleNoise(options.Seed, firstIndex + b);

        // 1. x_0 from the starting distribution, drawn from each sample's own stream.
        double scale = options.InitialScale ?? Levels.Max;
        for (int b = 0; b < batch; b++)
        {
            var sample = x.Slice(b * n, n);
            for (int j = 0; j < n; j++)
                sample[j] = (float)(options.Initialization == LangevinInitialization.Uniform
                    ? scale * (2 * streams[b].NextUniform() - 1) // U[-c, c]
                    : scale * streams[b].NextStandardNormal()); // N(0, c^2)
        }

        var score = new float[x.Length];
        var sigmas = new float[batch];
        var noise = new float[n];
        for (int level = 0; level < Levels.Count; level++)
        {
            // 2. alpha_i = epsilon sigma_i^2 / sigma_L^2 (Alg. 1, line 3).
            double alpha = Levels.StepSize(level, options.StepSize);
            double halfAlpha = alpha / 2, noiseScale = Math.Sqrt(alpha);
            Array.Fill(sigmas, (float)Levels[level]);
            for (int step = 0; step < options.StepsPerLevel; step++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                Model.Score(x, sigmas, score);
                report(++evaluation);
                // 3. x_t = x_(t-1) + alpha_i / 2 s(x_(t-1), sigma_i) + sqrt(alpha_i) z_t, z_t ~ N(0, I) (Alg. 1, lines 4-6).
                for (int b = 0; b < batch; b++)
                {
                    streams[b].FillStandardNormal(noise);
                    var sample = x.Slice(b * n, n);
                    var s = score.AsSpan(b * n, n);
                    for (int j = 0; j < n; j++) sample[j] = (float)(sample[j] + halfAlpha * s[j] + noiseScale * noise[j]);
                }
            }
        }

        if (options.FinalDenoising)
        {
            // 4. x <- x + sigma_L^2 s(x, sigma_L): Tweedie's formula E[x_data | x] (NCSNv2's final denoising).
            cancellationToken.ThrowIfCancellationRequested();
            double variance = Levels.Min * Levels.Min;
            Array.Fill(sigmas, (float)Levels.Min);
            Model.Score(x, sigmas, score);
            report(++evaluation);
            for (int j = 0; j < x.Length; j++) x[j] = (float)(x[j] + variance * score[j]);
        }
    }
}
