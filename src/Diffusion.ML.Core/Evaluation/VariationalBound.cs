using Diffusion.ML.Sampling;
using Diffusion.ML.Schedules;

namespace Diffusion.ML.Evaluation;

/// <summary>
/// The negative log-likelihood bound of a discrete-time DDPM on 8-bit data (Sohl-Dickstein et al. 2015, eq. 14; Ho et al. 2020,
/// eq. 5): L = L_T + sum_{t=2..T} L_{t-1} + L_0 in bits per dimension, with the prior and decoder terms computed exactly for
/// every image and the diffusion terms either all computed (<see cref="VariationalBoundEstimator.Full"/>) or sampled
/// (<see cref="VariationalBoundEstimator.Sampled"/>). Each term uses one draw of x_t ~ q(x_t | x_0), so the per-image value is
/// itself an unbiased estimate of that image's bound. See <see cref="DiffusionLikelihood"/> for the terms.
/// </summary>
public sealed class VariationalBound
{
    private readonly int[] _noLabels = [];
    private readonly double[]? _proposalCumulative;

    /// <summary>Creates the estimator for a denoiser trained under <paramref name="schedule"/>.</summary>
    /// <param name="denoiser">The trained model (any backend).</param>
    /// <param name="schedule">Its training noise schedule.</param>
    /// <param name="options">Estimator options; null uses the defaults.</param>
    /// <exception cref="ArgumentException">An option is out of range, or the proposal does not match the schedule.</exception>
    public VariationalBound(IDenoiser denoiser, NoiseSchedule schedule, VariationalBoundOptions? options = null)
    {
        Denoiser = denoiser ?? throw new ArgumentNullException(nameof(denoiser));
        Schedule = schedule ?? throw new ArgumentNullException(nameof(schedule));
        Options = options ?? new VariationalBoundOptions();
        Dimensions = denoiser.SampleShape.Aggregate(1, (a, b) => a * b);
        if (Dimensions < 1) throw new ArgumentException("The denoiser's sample shape holds no values.", nameof(denoiser));
        if (Options.BatchSize < 1)
            throw new ArgumentException($"BatchSize must be >= 1, got {Options.BatchSize}.", nameof(options));
        if (Options.TimestepsPerImage < 1)
            throw new ArgumentException($"TimestepsPerImage must be >= 1, got {Options.TimestepsPerImage}.", nameof(options));
        if (!Enum.IsDefined(Options.VarianceType))
            throw new ArgumentException($"Unknown variance type {Options.VarianceType}.", nameof(options));
        if (!Enum.IsDefined(Options.DecoderVariance))
            throw new ArgumentException($"Unknown decoder variance {Options.DecoderVariance}.", nameof(options));
        if (!Enum.IsDefined(Options.Estimator))
            throw new ArgumentException($"Unknown estimator {Options.Estimator}.", nameof(options));
        _proposalCumulative = Options.TimestepProposal is { } proposal ? BuildProposalCumulative(proposal, schedule.NumTrainTimesteps) : null;
    }

    /// <summary>The denoiser.</summary>
    public IDenoiser Denoiser { get; }

    /// <summary>The training noise schedule.</summary>
    public NoiseSchedule Schedule { get; }

    /// <summary>The options in use.</summary>
    public VariationalBoundOptions Options { get; }

    /// <summary>D, the number of values in one image.</summary>
    public int Dimensions { get; }

    /// <summary>
    /// Estimates the bound of every image and averages it.
    /// </summary>
    /// <param name="images">N x D values laid out one image after another, scaled to [-1, 1] as 2 p / 255 - 1 from 8-bit pixels p.</param>
    /// <param name="labels">
    /// One class label per image in [0, ClassCount] (ClassCount is the null class) for a class-conditional denoiser, or empty:
    /// then a conditional denoiser is evaluated with the null class (the unconditional bound). Must be empty for an unconditional denoiser.
    /// </param>
    /// <param name="progress">Receives progress after each denoiser call.</param>
    /// <param name="cancellationToken">Checked before each denoiser call.</param>
    /// <returns>The bound in bits per dimension, its standard error and its parts.</returns>
    /// <exception cref="ArgumentException">Empty or ragged data, a NaN or infinite value, a value outside [-1, 1] or off the 8-bit grid, or bad labels.</exception>
    public VariationalBoundResult Estimate(ReadOnlySpan<float> images, ReadOnlySpan<int> labels = default,
        IProgress<VariationalBoundProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        int d = Dimensions, T = Schedule.NumTrainTimesteps;
        int n = ValidateImages(images, d);
        ValidateLabels(labels, n);
        bool full = Options.Estimator == VariationalBoundEstimator.Full;
        int k = Options.TimestepsPerImage;

        var prior = new double[n];
        var decoder = new double[n];
        var diffusion = new double[n];
        var termSum = full ? new double[T] : null;
        var termSquares = full ? new double[T] : null;
        var batch = new Batch(Options.BatchSize, d, Stride, Denoiser.ClassCount > 0);
        long evaluations = 0;
        var jobs = new List<(int T, double Weight)>();

        for (int image = 0; image < n; image++)
        {
            ReadOnlySpan<float> x0 = images.Slice(image * d, d);
            prior[image] = DiffusionLikelihood.PriorNats(Schedule, x0);
            var noise = new SampleNoise(Options.Seed, Options.FirstIndex + image);
            jobs.Clear();
            jobs.Add((0, 1.0));
            if (full)
                for (int t = 1; t < T; t++) jobs.Add((t, 1.0));
            else
                for (int j = 0; j < k; j++) jobs.Add(DrawTimestep(noise, T, k));
            int label = Denoiser.ClassCount == 0 ? 0 : labels.IsEmpty ? Denoiser.ClassCount : labels[image];

            for (int j = 0; j < jobs.Count; j++)
            {
                (int t, double weight) = jobs[j];
                batch.Add(image, t, weight, label, x0, noise, Schedule);
                if (batch.Count == Options.BatchSize || (image == n - 1 && j == jobs.Count - 1))
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    evaluations += batch.Count;
                    Flush(batch, images, decoder, diffusion, termSum, termSquares);
                    progress?.Report(new VariationalBoundProgress(j == jobs.Count - 1 ? image + 1 : image, n, evaluations));
                }
            }
        }

        return Summarise(n, d, prior, decoder, diffusion, termSum, termSquares, evaluations);
    }

    /// <summary>
    /// The importance-sampling proposal q(t) proportional to sqrt(E[L_t^2]) (Nichol and Dhariwal 2021, sec. 3.3) from a pilot
    /// run with the <see cref="VariationalBoundEstimator.Full"/> estimator, ready for <see cref="VariationalBoundOptions.TimestepProposal"/>.
    /// </summary>
    /// <param name="pilot">A Full result of the same model and schedule (a few dozen images suffice).</param>
    /// <returns>T unnormalised weights (entry 0 is 0).</returns>
    /// <exception cref="ArgumentException">The pilot was not a Full run.</exception>
    public static double[] ImportanceProposal(VariationalBoundResult pilot)
    {
        ArgumentNullException.ThrowIfNull(pilot);
        if (pilot.Estimator != VariationalBoundEstimator.Full || pilot.TermRootMeanSquareBitsPerDim.Count == 0)
            throw new ArgumentException("The proposal needs a pilot run with the Full estimator (it records every term).", nameof(pilot));
        var weights = pilot.TermRootMeanSquareBitsPerDim.ToArray();
        weights[0] = 0;
        return weights;
    }

    private (int T, double Weight) DrawTimestep(SampleNoise noise, int timesteps, int k)
    {
        double u = noise.NextUniform();
        if (_proposalCumulative is null)
        {
            // Uniform on the T - 1 diffusion terms: each draw carries weight (T - 1) / K.
            int t = 1 + Math.Min((int)(u * (timesteps - 1)), timesteps - 2);
            return (t, (timesteps - 1) / (double)k);
        }
        // Importance sampling: t ~ q, weight 1 / (K q(t)) keeps the sum unbiased. Entry i of the cumulative sums is index i + 1.
        double[] cumulative = _proposalCumulative;
        double target = u * cumulative[^1];
        int lo = 0, hi = cumulative.Length - 1;
        while (lo < hi)
        {
            int mid = (lo + hi) / 2;
            if (cumulative[mid] > target) hi = mid;
            else lo = mid + 1;
        }
        double mass = (cumulative[lo] - (lo == 0 ? 0 : cumulative[lo - 1])) / cumulative[^1]; // > 0: the bin holds target
        return (lo + 1, 1 / (k * mass));
    }

    // Running sums of the proposal weights over 0-based indices 1..T-1 (array entry i is index i + 1).
    private static double[] BuildProposalCumulative(IReadOnlyList<double> proposal, int timesteps)
    {
        if (proposal.Count != timesteps)
            throw new ArgumentException($"TimestepProposal needs one weight per timestep ({timesteps}), got {proposal.Count}.", nameof(proposal));
        var cumulative = new double[timesteps - 1];
        double running = 0;
        for (int t = 1; t < timesteps; t++)
        {
            if (!(proposal[t] >= 0) || double.IsInfinity(proposal[t]))
                throw new ArgumentException($"TimestepProposal[{t}] = {proposal[t]}; weights must be finite and >= 0.", nameof(proposal));
            running += proposal[t];
            cumulative[t - 1] = running;
        }
        if (!(running > 0)) throw new ArgumentException("TimestepProposal puts no weight on the diffusion terms (indices 1..T-1).", nameof(proposal));
        return cumulative;
    }

    private void Flush(Batch batch, ReadOnlySpan<float> images, double[] decoder, double[] diffusion, double[]? termSum, double[]? termSquares)
    {
        int d = Dimensions, count = batch.Count;
        Denoiser.Predict(batch.Xt.AsSpan(0, count * d), batch.Timesteps.AsSpan(0, count),
            batch.Labels.Length == 0 ? _noLabels : batch.Labels.AsSpan(0, count), batch.Output.AsSpan(0, count * Stride));
        for (int j = 0; j < count; j++)
        {
            int image = batch.Images[j], t = batch.TimestepIndices[j];
            ReadOnlySpan<float> x0 = images.Slice(image * d, d);
            ReadOnlySpan<float> xt = batch.Xt.AsSpan(j * d, d);
            ModelOutputs.ToSampleAndNoise(Denoiser.PredictionType, Schedule.AlphaBar[t], xt, batch.Output.AsSpan(j * Stride, d), batch.X0Estimate, batch.EpsEstimate);
            // A model that learns its variance writes v after the prediction (Nichol and Dhariwal 2021); its terms use it.
            ReadOnlySpan<float> v = Denoiser.LearnsVariance ? batch.Output.AsSpan(j * Stride + d, d) : [];
            if (Options.ClipDenoised)
                for (int i = 0; i < d; i++) batch.X0Estimate[i] = Math.Clamp(batch.X0Estimate[i], -1f, 1f);

            double term;
            if (t == 0)
            {
                term = Denoiser.LearnsVariance
                    ? DiffusionLikelihood.DecoderNats(Schedule, x0, xt, batch.X0Estimate, v)
                    : DiffusionLikelihood.DecoderNats(Schedule, x0, xt, batch.X0Estimate, Options.DecoderVariance);
                decoder[image] += term;
            }
            else
            {
                term = batch.Weights[j] * (Denoiser.LearnsVariance
                    ? DiffusionLikelihood.DiffusionTermNats(Schedule, t, x0, xt, batch.X0Estimate, v)
                    : DiffusionLikelihood.DiffusionTermNats(Schedule, t, x0, xt, batch.X0Estimate, Options.VarianceType));
                diffusion[image] += term;
            }
            if (termSum is not null)
            {
                termSum[t] += term;
                termSquares![t] += term * term;
            }
        }
        batch.Count = 0;
    }

    private VariationalBoundResult Summarise(int n, int d, double[] prior, double[] decoder, double[] diffusion,
        double[]? termSum, double[]? termSquares, long evaluations)
    {
        double toBits = 1 / (d * Math.Log(2));
        var perImage = new double[n];
        double sum = 0;
        for (int i = 0; i < n; i++)
        {
            perImage[i] = (prior[i] + decoder[i] + diffusion[i]) * toBits;
            sum += perImage[i];
        }
        double mean = sum / n, squares = 0;
        foreach (double v in perImage) squares += (v - mean) * (v - mean);
        double standardError = n > 1 ? Math.Sqrt(squares / (n - 1) / n) : double.NaN;

        double[] termMean = [], termRms = [];
        if (termSum is not null)
        {
            termMean = termSum.Select(s => s / n * toBits).ToArray();
            termRms = termSquares!.Select(s => Math.Sqrt(s / n) * toBits).ToArray();
        }
        return new VariationalBoundResult(mean, standardError, prior.Average() * toBits, decoder.Average() * toBits,
            diffusion.Average() * toBits, n, d, evaluations, Options.Estimator, perImage, termMean, termRms);
    }

    private static int ValidateImages(ReadOnlySpan<float> images, int d)
    {
        if (images.IsEmpty) throw new ArgumentException("No images to evaluate.", nameof(images));
        if (images.Length % d != 0)
            throw new ArgumentException(
                $"The data hold {images.Length} values, not a whole number of images of {d} values (the denoiser's sample shape).", nameof(images));
        for (int i = 0; i < images.Length; i++)
        {
            float v = images[i];
            if (!float.IsFinite(v))
                throw new ArgumentException($"Value {i % d} of image {i / d} is {v}; the data must be finite.", nameof(images));
            if (v < -1f || v > 1f)
                throw new ArgumentException(
                    $"Value {i % d} of image {i / d} is {v}, outside [-1, 1]; scale 8-bit pixels p to 2 p / 255 - 1.", nameof(images));
            double pixel = (v + 1.0) * 127.5;
            if (Math.Abs(pixel - Math.Round(pixel)) > 1e-3)
                throw new ArgumentException(
                    $"Value {i % d} of image {i / d} is {v}, not on the 8-bit grid 2 k / 255 - 1: the discretised decoder (Ho et al. 2020, eq. 13) " +
                    "measures the likelihood of 8-bit data. Quantise first: x = round((x + 1) * 127.5) / 127.5 - 1.", nameof(images));
        }
        return images.Length / d;
    }

    private void ValidateLabels(ReadOnlySpan<int> labels, int n)
    {
        int classes = Denoiser.ClassCount;
        if (labels.IsEmpty) return;
        if (classes == 0)
            throw new ArgumentException("Class labels were given but the model is unconditional (it was trained without classes).", nameof(labels));
        if (labels.Length != n)
            throw new ArgumentException($"Need one class label per image: {n} images, {labels.Length} labels.", nameof(labels));
        for (int i = 0; i < n; i++)
            if (labels[i] < 0 || labels[i] > classes)
                throw new ArgumentException($"Class label {labels[i]} of image {i} is outside [0, {classes}] ({classes} is the null class).", nameof(labels));
    }

    /// <summary>Values per sample in the model's output: the prediction, and the variance values of a model that learns them.</summary>
    private int Stride => Denoiser.LearnsVariance ? 2 * Dimensions : Dimensions;

    private sealed class Batch(int size, int d, int stride, bool conditional)
    {
        public readonly float[] Xt = new float[size * d];
        public readonly float[] Output = new float[size * stride];
        public readonly float[] Timesteps = new float[size];
        public readonly int[] Labels = conditional ? new int[size] : [];
        public readonly int[] Images = new int[size];
        public readonly int[] TimestepIndices = new int[size];
        public readonly double[] Weights = new double[size];
        public readonly float[] X0Estimate = new float[d];
        public readonly float[] EpsEstimate = new float[d];
        private readonly double[] _eps = new double[d];
        public int Count;

        // x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps, eps ~ N(0, I) from the image's own stream   (Ho et al. 2020, eq. 4)
        public void Add(int image, int t, double weight, int label, ReadOnlySpan<float> x0, SampleNoise noise, NoiseSchedule schedule)
        {
            int offset = Count * d;
            double a = schedule.SqrtAlphaBar[t], s = schedule.SqrtOneMinusAlphaBar[t];
            for (int i = 0; i < d; i++) _eps[i] = noise.NextStandardNormal();
            for (int i = 0; i < d; i++) Xt[offset + i] = (float)(a * x0[i] + s * _eps[i]);
            Timesteps[Count] = t;
            if (Labels.Length > 0) Labels[Count] = label;
            Images[Count] = image;
            TimestepIndices[Count] = t;
            Weights[Count] = weight;
            Count++;
        }
    }
}
