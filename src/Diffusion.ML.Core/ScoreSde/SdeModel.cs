using Diffusion.ML.Sampling;

namespace Diffusion.ML.ScoreSde;

/// <summary>
/// The model of a <see cref="SamplingContext"/> seen as a score s(x, t) of an <see cref="Sde"/>: the batch x(t) is scaled
/// by <see cref="Sde.ModelInputScale"/>, evaluated at <see cref="Sde.ModelTimestep"/>, and the eps estimate gives
/// s = -eps / std(t) (Song et al. 2021, sec. 3.3 with the DDPM parametrisation s = -eps / std). Scratch space of one run.
/// </summary>
internal sealed class SdeModel
{
    private readonly SamplingContext _context;
    private readonly float[] _input;

    public SdeModel(SamplingContext context, Sde? sde)
    {
        _context = context ?? throw new ArgumentNullException(nameof(context));
        Sde = sde ?? new ScheduleVpSde(context.Schedule);
        int n = context.BatchSize * context.SampleSize;
        _input = new float[n];
        X0 = new float[n];
        Eps = new float[n];
    }

    public Sde Sde { get; }

    /// <summary>x_0 estimates of the last evaluation (clipped or thresholded as the options ask).</summary>
    public float[] X0 { get; }

    /// <summary>eps estimates of the last evaluation.</summary>
    public float[] Eps { get; }

    /// <summary>Evaluates the model on the whole batch <paramref name="x"/> = x(t); results in <see cref="X0"/> and <see cref="Eps"/>.</summary>
    public void Evaluate(ReadOnlySpan<double> x, double t)
    {
        double c = Sde.ModelInputScale(t);
        for (int i = 0; i < x.Length; i++) _input[i] = (float)(c * x[i]);
        _context.Denoise(_input, Sde.ModelTimestep(_context.Schedule, t), X0, Eps);
    }

    /// <summary>Evaluates the model once with one time per sample (sample b of the batch <paramref name="x"/> is at times[b]).</summary>
    public void Evaluate(ReadOnlySpan<double> x, ReadOnlySpan<double> times)
    {
        int d = _context.SampleSize;
        var timesteps = new double[times.Length];
        for (int b = 0; b < times.Length; b++)
        {
            double c = Sde.ModelInputScale(times[b]);
            for (int i = b * d; i < (b + 1) * d; i++) _input[i] = (float)(c * x[i]);
            timesteps[b] = Sde.ModelTimestep(_context.Schedule, times[b]);
        }
        _context.Denoise(_input, timesteps, X0, Eps);
    }

    /// <summary>The score s(x, t) = -eps / std(t) of the whole batch.</summary>
    public void Score(ReadOnlySpan<double> x, double t, Span<double> score)
    {
        Evaluate(x, t);
        double std = Sde.MarginalStd(t);
        for (int i = 0; i < x.Length; i++) score[i] = -Eps[i] / std;
    }

    /// <summary>x(1) = PriorStd x_T: the pipeline's N(0, I) draw as a draw from the prior.</summary>
    public double[] InitialState(ReadOnlySpan<float> xT)
    {
        var state = new double[xT.Length];
        for (int i = 0; i < xT.Length; i++) state[i] = Sde.PriorStd * xT[i];
        return state;
    }

    /// <summary>
    /// Time of grid point k of N uniform steps from t = 1 down to <paramref name="end"/>: t_k = 1 - k (1 - end) / N, with
    /// t_N = end exactly.
    /// </summary>
    public static double GridTime(int k, int steps, double end) => k >= steps ? end : 1 - k * (1 - end) / steps;
}
