using Diffusion.ML.Sampling;
using Diffusion.ML.Schedules;

namespace Diffusion.ML.ScoreSde;

/// <summary>How <see cref="ProbabilityFlowLikelihood"/> computes the divergence of the probability-flow drift.</summary>
public enum DivergenceEstimator
{
    /// <summary>
    /// Hutchinson's estimator tr J = E[v^T J v] with Rademacher probes v in {-1, 1}^D (Song et al. 2021, appendix D.2;
    /// Grathwohl et al. 2019, FFJORD): the lowest-variance choice for a given number of probes.
    /// </summary>
    HutchinsonRademacher,

    /// <summary>Hutchinson's estimator with standard normal probes.</summary>
    HutchinsonGaussian,

    /// <summary>
    /// The exact trace from the D columns e_i^T J e_i: by finite differences 2 D extra model rows per drift evaluation, by
    /// vector-Jacobian products D rows (small D only).
    /// </summary>
    ExactTrace,
}

/// <summary>
/// Exact log-likelihood of data under the probability-flow ODE (Song et al. 2021, sec. 4.3 and appendix D.2): with
/// f~(x, t) = f(t) x - (1/2) g(t)^2 s(x, t) the ODE drift (eq. 13), the instantaneous change of variables
/// (Chen et al. 2018) gives log p_eps(x(eps)) = log p_1(x(1)) + integral_eps^1 div f~(x(t), t) dt (eq. 39), and the pair
/// [x, integral of div f~] is integrated from t = eps to 1 with the adaptive RK45 of Dormand and Prince (as the paper,
/// with scipy), every sample with its own step-size controller. The data x are taken as x(eps) (no noise is added), so
/// the result is log p_eps(x): for eps -&gt; 0 the model's density of the data. The prior N(0, PriorStd^2 I) stands in for
/// the true p_1, which adds log N(x(1); 0, PriorStd^2) - log p_1(x(1)) to the answer: for Gaussian data under the linear
/// schedule (m(1) = 0.006) about 0.5% of log p on the worst samples and 0.05% on the mean; for VE with sigma_max = 50, whose
/// flow magnifies x - mu by sigma_max / s, up to 1.5% per sample.
/// <para>
/// Divergence: div f~ = D f(t) + (1/2) g^2 / std(t) div eps(x, t): Hutchinson's estimator of the whole drift's trace,
/// f ||v||^2 + (1/2) g^2 / std v^T J v with J = d eps / dx, with one probe v per sample held fixed over the whole
/// integration (the paper's convention; an unbiased estimate of log p), or the exact trace from the D columns e_i.
/// When the denoiser implements <see cref="IVectorJacobianDenoiser"/> (TorchSharp: autograd), v^T J comes exactly from one
/// forward and one backward pass per probe, one model row each (<see cref="UsesVectorJacobianProducts"/>); the model sees
/// c(t) x, so J = c d eps / d(c x). Any other <see cref="IDenoiser"/> (backend-free) gets J v from central finite
/// differences, (eps(x + delta v) - eps(x - delta v)) / (2 delta) with delta = <see cref="FiniteDifferenceStep"/>
/// max(1, rms(x)), two extra rows per probe, the exact trace's quotients using the actual (float-rounded) input steps.
/// </para>
/// <para>
/// Units: nats per sample for continuous data. For discrete data such as 8-bit images scaled to [-1, 1], dequantise first
/// (<see cref="Dequantize"/>: x = -1 + 2 (k + u) / 256, u ~ U(0, 1), as the paper's code does), then
/// <see cref="LikelihoodResult.BitsPerDimension"/> with bin width 2 / 256 gives an upper bound on the discrete model's bits
/// per dimension: bpd = -(log p(x) + D log(binWidth)) / (D log 2), i.e. the paper's -log p / (D log 2) + 7.
/// </para>
/// <para>
/// The model sees each sample at its own fractional timestep (<see cref="Sde.ModelTimestep"/>) with no guidance or
/// clipping; a class-conditional model gets the given labels, or its null class.
/// </para>
/// </summary>
public sealed class ProbabilityFlowLikelihood
{
    private readonly IDenoiser _denoiser;
    private readonly IVectorJacobianDenoiser? _vectorJacobian;
    private readonly int _size;

    /// <summary>Creates the estimator for a denoiser trained on <paramref name="schedule"/>.</summary>
    /// <param name="denoiser">The model; if it implements <see cref="IVectorJacobianDenoiser"/>, its exact vector-Jacobian products give the divergence.</param>
    /// <param name="schedule">Its training schedule.</param>
    /// <param name="sde">The SDE; null (default) uses <see cref="ScheduleVpSde"/> of <paramref name="schedule"/>.</param>
    /// <param name="divergence">Divergence estimator. Default Hutchinson with Rademacher probes.</param>
    /// <param name="probes">Hutchinson probes per sample, averaged (&gt;= 1). Default 1 (the paper's).</param>
    /// <param name="rtol">RK45 relative tolerance. Default 1e-5 (Song et al. 2021).</param>
    /// <param name="atol">RK45 absolute tolerance. Default 1e-5.</param>
    /// <param name="eps">Start time in (0, 1); null (default) takes <see cref="Sde.DefaultEps"/>.</param>
    /// <param name="finiteDifferenceStep">Relative finite-difference step (&gt; 0). Default 1e-3.</param>
    /// <param name="batchSize">Samples integrated together (&gt;= 1). Default 16.</param>
    /// <param name="maxModelBatch">Most rows per denoiser call (&gt;= 1). Default 256.</param>
    public ProbabilityFlowLikelihood(IDenoiser denoiser, NoiseSchedule schedule, Sde? sde = null,
        DivergenceEstimator divergence = DivergenceEstimator.HutchinsonRademacher, int probes = 1, double rtol = 1e-5, double atol = 1e-5,
        double? eps = null, double finiteDifferenceStep = 1e-3, int batchSize = 16, int maxModelBatch = 256)
    {
        _denoiser = PredictionOnlyDenoiser.Of(denoiser); // the ODE's drift needs only the mean prediction
        _vectorJacobian = denoiser as IVectorJacobianDenoiser; // whose noise estimate already ignores variance values
        Schedule = schedule ?? throw new ArgumentNullException(nameof(schedule));
        if (!Enum.IsDefined(divergence)) throw new ArgumentOutOfRangeException(nameof(divergence), divergence, "Unknown estimator.");
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(probes);
        if (!(rtol > 0) || double.IsInfinity(rtol)) throw new ArgumentOutOfRangeException(nameof(rtol), rtol, "rtol must be positive and finite.");
        if (!(atol > 0) || double.IsInfinity(atol)) throw new ArgumentOutOfRangeException(nameof(atol), atol, "atol must be positive and finite.");
        if (eps is { } e && !(e > 0 && e < 1)) throw new ArgumentOutOfRangeException(nameof(eps), e, "eps must lie in (0, 1).");
        if (!(finiteDifferenceStep > 0) || double.IsInfinity(finiteDifferenceStep))
            throw new ArgumentOutOfRangeException(nameof(finiteDifferenceStep), finiteDifferenceStep, "The step must be positive and finite.");
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxModelBatch);
        Sde = sde ?? new ScheduleVpSde(schedule);
        Divergence = divergence;
        Probes = probes;
        RelativeTolerance = rtol;
        AbsoluteTolerance = atol;
        Eps = eps ?? Sde.DefaultEps;
        FiniteDifferenceStep = finiteDifferenceStep;
        BatchSize = batchSize;
        MaxModelBatch = maxModelBatch;
        _size = denoiser.SampleShape.Aggregate(1, (a, b) => a * b);
    }

    /// <summary>The training schedule.</summary>
    public NoiseSchedule Schedule { get; }

    /// <summary>The SDE.</summary>
    public Sde Sde { get; }

    /// <summary>The divergence estimator.</summary>
    public DivergenceEstimator Divergence { get; }

    /// <summary>Hutchinson probes per sample.</summary>
    public int Probes { get; }

    /// <summary>RK45 relative tolerance.</summary>
    public double RelativeTolerance { get; }

    /// <summary>RK45 absolute tolerance.</summary>
    public double AbsoluteTolerance { get; }

    /// <summary>The time at which the data are placed, and the likelihood is of p_eps.</summary>
    public double Eps { get; }

    /// <summary>Relative finite-difference step (unused when <see cref="UsesVectorJacobianProducts"/>).</summary>
    public double FiniteDifferenceStep { get; }

    /// <summary>Samples integrated together.</summary>
    public int BatchSize { get; }

    /// <summary>Most rows per denoiser call.</summary>
    public int MaxModelBatch { get; }

    /// <summary>
    /// Whether the divergence comes from the denoiser's exact vector-Jacobian products (it implements
    /// <see cref="IVectorJacobianDenoiser"/>, as the TorchSharp backend does with autograd) rather than central finite differences.
    /// </summary>
    public bool UsesVectorJacobianProducts => _vectorJacobian is not null;

    /// <summary>
    /// Model rows per drift evaluation of one sample, n = D (exact trace) or probes (Hutchinson): n forward and backward rows
    /// with <see cref="UsesVectorJacobianProducts"/>, else 1 + 2 n forward rows.
    /// </summary>
    public int RowsPerEvaluation => UsesVectorJacobianProducts ? Directions : 1 + 2 * Directions;

    /// <summary>Directions v per drift evaluation of one sample: the D columns of the exact trace, or the Hutchinson probes.</summary>
    private int Directions => Divergence == DivergenceEstimator.ExactTrace ? _size : Probes;

    /// <summary>Computes log p_eps(x) of each sample of <paramref name="data"/> (samples laid out one after another).</summary>
    /// <param name="data">The samples, a multiple of the model's sample size.</param>
    /// <param name="seed">Seed of the Hutchinson probes; sample i uses the stream of (seed, firstIndex + i).</param>
    /// <param name="firstIndex">Index of the first sample (for the probe streams and class labels).</param>
    /// <param name="classLabels">For a class-conditional model: sample i gets classLabels[(firstIndex + i) mod Count]; null: the null class.</param>
    /// <param name="cancellationToken">Checked before every drift evaluation.</param>
    public LikelihoodResult Evaluate(ReadOnlySpan<float> data, long seed = 0, long firstIndex = 0, IReadOnlyList<int>? classLabels = null,
        CancellationToken cancellationToken = default)
    {
        if (data.Length % _size != 0) throw new ArgumentException($"The data length {data.Length} is not a multiple of the sample size {_size}.", nameof(data));
        if (classLabels is not null && _denoiser.ClassCount == 0)
            throw new ArgumentException("Class labels were given but the model is unconditional.", nameof(classLabels));
        int count = data.Length / _size;
        var logLikelihoods = new double[count];
        var evaluations = new int[count];
        for (int done = 0; done < count; done += BatchSize)
        {
            int batch = Math.Min(BatchSize, count - done);
            EvaluateBatch(data.Slice(done * _size, batch * _size), batch, seed, firstIndex + done, classLabels,
                logLikelihoods.AsSpan(done, batch), evaluations.AsSpan(done, batch), cancellationToken);
        }
        return new LikelihoodResult(logLikelihoods, evaluations, _size, RowsPerEvaluation);
    }

    /// <summary>
    /// Uniform dequantisation of data on a grid of <paramref name="levels"/> values spanning [-1, 1] (8-bit images: 256):
    /// value k maps to -1 + 2 (k + u) / levels with u ~ U(0, 1) from sample i's own stream (seed, firstIndex + i). Pair with
    /// <see cref="LikelihoodResult.BitsPerDimension"/> and bin width 2 / levels.
    /// </summary>
    public static void Dequantize(Span<float> data, int sampleSize, int levels = 256, long seed = 0, long firstIndex = 0)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(levels, 2);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(sampleSize);
        if (data.Length % sampleSize != 0) throw new ArgumentException("The data length is not a multiple of the sample size.", nameof(data));
        for (int b = 0; b < data.Length / sampleSize; b++)
        {
            var noise = new SampleNoise(seed, firstIndex + b);
            for (int i = b * sampleSize; i < (b + 1) * sampleSize; i++)
            {
                double k = Math.Clamp(Math.Round((data[i] + 1) / 2 * (levels - 1)), 0, levels - 1);
                data[i] = (float)(-1 + 2 * (k + noise.NextUniform()) / levels);
            }
        }
    }

    private void EvaluateBatch(ReadOnlySpan<float> data, int batch, long seed, long firstIndex, IReadOnlyList<int>? classLabels,
        Span<double> logLikelihoods, Span<int> evaluations, CancellationToken cancellationToken)
    {
        int d = _size, size = d + 1, rows = RowsPerEvaluation, directions = Directions;
        bool exact = Divergence == DivergenceEstimator.ExactTrace, products = UsesVectorJacobianProducts;
        int probes = exact ? 0 : Probes;
        var state = new double[batch * size];
        for (int b = 0; b < batch; b++)
            for (int i = 0; i < d; i++) state[b * size + i] = data[b * d + i];

        // Hutchinson probes, fixed for the whole integration, from each sample's own stream.
        var probe = new double[batch * probes * d];
        for (int b = 0; b < batch; b++)
        {
            var noise = new SampleNoise(seed, firstIndex + b);
            for (int j = b * probes * d; j < (b + 1) * probes * d; j++)
                probe[j] = Divergence == DivergenceEstimator.HutchinsonGaussian ? noise.NextStandardNormal() : noise.NextUniform() < 0.5 ? -1 : 1;
        }
        double Direction(int b, int p, int i) => exact ? (i == p ? 1 : 0) : probe[(b * probes + p) * d + i];
        int[] labels = new int[batch];
        if (_denoiser.ClassCount > 0)
            for (int b = 0; b < batch; b++)
                labels[b] = classLabels is { Count: > 0 } l ? l[(int)((firstIndex + b) % l.Count)] : _denoiser.ClassCount;
        if (_denoiser.ClassCount > 0 && labels.Any(l => l < 0 || l > _denoiser.ClassCount))
            throw new ArgumentException($"Class labels must lie in [0, {_denoiser.ClassCount}].", nameof(classLabels));

        var input = new float[batch * rows * d];
        var output = new float[products ? 0 : batch * rows * d];
        var rowProbes = new float[products ? batch * rows * d : 0];
        var product = new float[products ? batch * rows * d : 0];
        var epsilon = new float[batch * rows * d];
        var x0 = new float[d];
        var rowTimes = new float[batch * rows];
        var rowAlphaBars = new double[batch * rows];
        var rowLabels = new int[_denoiser.ClassCount > 0 ? batch * rows : 0];
        var delta = new double[batch];
        var active = new List<int>(batch);

        void Drift(ReadOnlySpan<double> times, ReadOnlySpan<bool> on, double[] y, double[] dydt)
        {
            cancellationToken.ThrowIfCancellationRequested();
            active.Clear();
            for (int b = 0; b < batch; b++) if (on[b]) active.Add(b);
            // Rows of active sample a (its r-th row at a * rows + r). Vector-Jacobian products: x with direction r as its probe;
            // finite differences: x, then x +- delta (column or probe) per direction.
            for (int a = 0; a < active.Count; a++)
            {
                int b = active[a];
                double t = times[b], c = Sde.ModelInputScale(t);
                float tau = (float)Sde.ModelTimestep(Schedule, t);
                double abar = Schedule.InterpolatedAlphaBar(tau); // as SamplingContext.Denoise converts
                double squares = 0;
                for (int i = 0; i < d; i++) squares += y[b * size + i] * y[b * size + i];
                delta[b] = FiniteDifferenceStep * Math.Max(1, Math.Sqrt(squares / d));
                for (int r = 0; r < rows; r++)
                {
                    int row = a * rows + r;
                    rowTimes[row] = tau;
                    rowAlphaBars[row] = abar;
                    if (rowLabels.Length > 0) rowLabels[row] = labels[b];
                    int direction = products ? r : r == 0 ? 0 : (r - 1) / 2, sign = products || r == 0 ? 0 : (r % 2 == 1 ? 1 : -1);
                    for (int i = 0; i < d; i++)
                    {
                        double v = products || sign != 0 ? Direction(b, direction, i) : 0;
                        if (products) rowProbes[row * d + i] = (float)v;
                        input[row * d + i] = (float)(c * (y[b * size + i] + sign * delta[b] * v));
                    }
                }
            }
            int totalRows = active.Count * rows;
            for (int start = 0; start < totalRows; start += MaxModelBatch)
            {
                int m = Math.Min(MaxModelBatch, totalRows - start);
                ReadOnlySpan<int> chunkLabels = rowLabels.Length > 0 ? rowLabels.AsSpan(start, m) : ReadOnlySpan<int>.Empty;
                if (products)
                    _vectorJacobian!.PredictNoiseAndVectorJacobianProduct(input.AsSpan(start * d, m * d), rowTimes.AsSpan(start, m),
                        rowAlphaBars.AsSpan(start, m), chunkLabels, rowProbes.AsSpan(start * d, m * d), epsilon.AsSpan(start * d, m * d),
                        product.AsSpan(start * d, m * d));
                else
                    _denoiser.Predict(input.AsSpan(start * d, m * d), rowTimes.AsSpan(start, m), chunkLabels, output.AsSpan(start * d, m * d));
            }
            if (!products)
                for (int row = 0; row < totalRows; row++)
                    ModelOutputs.ToSampleAndNoise(_denoiser.PredictionType, rowAlphaBars[row], input.AsSpan(row * d, d), output.AsSpan(row * d, d),
                        x0, epsilon.AsSpan(row * d, d));
            for (int a = 0; a < active.Count; a++)
            {
                int b = active[a], baseRow = a * rows;
                double t = times[b], f = Sde.DriftCoefficient(t), g = Sde.Diffusion(t), c = Sde.ModelInputScale(t);
                double k = 0.5 * g * g / Sde.MarginalStd(t);
                for (int i = 0; i < d; i++)
                    dydt[b * size + i] = f * y[b * size + i] + k * epsilon[baseRow * d + i]; // f x - (1/2) g^2 s   (Song et al. 2021, eq. 13)
                double divergence = 0;
                if (products)
                {
                    // v^T J v of the whole drift J = f I + (1/2) g^2 / std c d eps / du, u = c x the model's input: f ||v||^2 + k c v^T (d eps / du) v
                    for (int p = 0; p < directions; p++)
                    {
                        int row = (baseRow + p) * d;
                        double quadratic = 0, norm = 0;
                        for (int i = 0; i < d; i++)
                        {
                            quadratic += (double)rowProbes[row + i] * product[row + i];
                            norm += (double)rowProbes[row + i] * rowProbes[row + i];
                        }
                        divergence += f * norm + k * c * quadratic;
                    }
                    if (!exact) divergence /= probes; // the exact trace sums its D columns, Hutchinson averages its probes
                }
                else if (exact)
                {
                    // div f~ = D f(t) + (1/2) g^2 / std sum_i d eps_i / d x_i   (Song et al. 2021, eq. 39's integrand)
                    for (int i = 0; i < d; i++)
                    {
                        int plus = (baseRow + 1 + 2 * i) * d + i, minus = (baseRow + 2 + 2 * i) * d + i;
                        double step = (double)input[plus] - input[minus]; // the float-rounded input step, = 2 c delta nearly
                        if (step == 0) throw new InvalidOperationException("The finite-difference step vanished in float precision; raise finiteDifferenceStep.");
                        divergence += c * (epsilon[plus] - epsilon[minus]) / step;
                    }
                    divergence = d * f + k * divergence;
                }
                else
                {
                    // v^T J v of the whole drift J = f I + (1/2) g^2 / std d eps / dx: f ||v||^2 + (1/2) g^2 / std v^T J_eps v
                    // (Hutchinson on the full drift, as the paper: for Gaussian probes the f ||v||^2 term cancels most of the noise).
                    for (int p = 0; p < probes; p++)
                    {
                        int plus = (baseRow + 1 + 2 * p) * d, minus = (baseRow + 2 + 2 * p) * d;
                        double quadratic = 0, norm = 0;
                        for (int i = 0; i < d; i++)
                        {
                            double v = probe[(b * probes + p) * d + i];
                            quadratic += v * ((double)epsilon[plus + i] - epsilon[minus + i]);
                            norm += v * v;
                        }
                        divergence += f * norm + k * quadratic / (2 * delta[b]);
                    }
                    divergence /= probes;
                }
                dydt[b * size + d] = divergence;
            }
        }
        DormandPrince.Statistics statistics = DormandPrince.Integrate(batch, size, Eps, 1, state, Drift, RelativeTolerance, AbsoluteTolerance,
            cancellationToken: cancellationToken);
        for (int b = 0; b < batch; b++)
        {
            // log p_eps(x) = log p_1(x(1)) + integral_eps^1 div f~ dt   (Song et al. 2021, eq. 39)
            logLikelihoods[b] = Sde.PriorLogDensity(state.AsSpan(b * size, d)) + state[b * size + d];
            evaluations[b] = statistics.Evaluations[b];
        }
    }
}

/// <summary>Per-sample log-likelihoods from <see cref="ProbabilityFlowLikelihood"/> and their summary.</summary>
public sealed class LikelihoodResult
{
    internal LikelihoodResult(double[] logLikelihoods, int[] evaluations, int dimensions, int rowsPerEvaluation)
    {
        LogLikelihoods = logLikelihoods;
        FunctionEvaluations = evaluations;
        Dimensions = dimensions;
        RowsPerEvaluation = rowsPerEvaluation;
        int n = logLikelihoods.Length;
        Mean = n == 0 ? double.NaN : logLikelihoods.Average();
        StandardError = n < 2 ? double.NaN : Math.Sqrt(logLikelihoods.Sum(v => (v - Mean) * (v - Mean)) / (n - 1) / n);
    }

    /// <summary>log p_eps(x) of each sample, in nats.</summary>
    public IReadOnlyList<double> LogLikelihoods { get; }

    /// <summary>Mean log-likelihood in nats per sample.</summary>
    public double Mean { get; }

    /// <summary>Standard error of <see cref="Mean"/> (sample standard deviation / sqrt(n); covers the Hutchinson noise too).</summary>
    public double StandardError { get; }

    /// <summary>D, the values per sample.</summary>
    public int Dimensions { get; }

    /// <summary>RK45 drift evaluations of each sample (adaptive: they differ between samples).</summary>
    public IReadOnlyList<int> FunctionEvaluations { get; }

    /// <summary>
    /// Model rows per drift evaluation (<see cref="ProbabilityFlowLikelihood.RowsPerEvaluation"/>: 1 + 2 D or 1 + 2 probes by finite
    /// differences, D or probes forward-and-backward rows by vector-Jacobian products); model rows per sample = this times
    /// <see cref="FunctionEvaluations"/>.
    /// </summary>
    public int RowsPerEvaluation { get; }

    /// <summary>-Mean / D: nats per dimension (continuous data).</summary>
    public double NatsPerDimension => -Mean / Dimensions;

    /// <summary>
    /// Bits per dimension of dequantised discrete data with bins of width <paramref name="binWidth"/> (2 / 256 for 8-bit images in
    /// [-1, 1]): -(Mean + D log(binWidth)) / (D log 2).
    /// </summary>
    public double BitsPerDimension(double binWidth)
    {
        if (!(binWidth > 0)) throw new ArgumentOutOfRangeException(nameof(binWidth), binWidth, "The bin width must be positive.");
        return -(Mean + Dimensions * Math.Log(binWidth)) / (Dimensions * Math.Log(2));
    }

    /// <summary>Standard error of <see cref="BitsPerDimension"/>: StandardError / (D log 2).</summary>
    public double BitsPerDimensionStandardError => StandardError / (Dimensions * Math.Log(2));
}
