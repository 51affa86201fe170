using Diffusion.ML.Schedules;

namespace Diffusion.ML.ScoreSde;

/// <summary>
/// The VP SDE dx = -beta(t)/2 x dt + sqrt(beta(t)) dw whose marginals are exactly those of a discrete
/// <see cref="NoiseSchedule"/> at every training timestep: time t in [0, 1] corresponds to the fractional training timestep
/// tau = t T - 1 (t = 0: the clean data, tau = -1; t = 1: tau = T - 1), and m(t)^2 = abar(t) = 1 / (1 + sigma^2(tau)) with
/// sigma^2 = (1 - abar) / abar interpolated between the training timesteps by a cubic spline (parabolic run-out ends), so that
/// beta(t) = -d log abar / dt = T abar d sigma^2 / d tau is continuous (a smooth drift keeps the adaptive RK45 of
/// the probability-flow ODE efficient and accurate; the piecewise-linear interpolation of
/// <see cref="NoiseSchedule.InterpolatedAlphaBar"/> makes beta jump at every timestep; a spline of log sigma^2 oscillates
/// near tau = 0, where log sigma^2 bends sharply, and costs RK45 accuracy there). On tau in [-1, 0], sigma^2 is linear
/// in tau as in <see cref="NoiseSchedule.InterpolatedAlphaBar"/>; if the spline were not increasing (an irregular schedule),
/// the piecewise-linear interpolation is used throughout (<see cref="IsSmooth"/> false). The model is evaluated at
/// <see cref="Sde.ModelTimestep"/> = <see cref="NoiseSchedule.TimestepOfSigma"/>(sigma(t)), which is tau itself at the training
/// timesteps.
/// <para>
/// This is the SDE the score-based samplers and the likelihood use by default for a model trained on the schedule: the model
/// sees exactly its training marginals at every integer timestep, and the whole training range, no more, is covered.
/// beta(t) / T approximates the discrete beta (Song et al. 2021, appendix B: beta_i = beta(t) / N), and
/// integral_(i/T)^((i+1)/T) beta dt = -log(1 - beta_i) exactly.
/// </para>
/// </summary>
public sealed class ScheduleVpSde : Sde
{
    private readonly double[] _variance;
    private readonly double[] _curvature; // second derivatives of the natural cubic spline of sigma^2 at the nodes

    /// <summary>Creates the SDE of <paramref name="schedule"/>.</summary>
    /// <exception cref="ArgumentException">The schedule has zero terminal SNR (beta would be infinite at t = 1).</exception>
    public ScheduleVpSde(NoiseSchedule schedule)
    {
        Schedule = schedule ?? throw new ArgumentNullException(nameof(schedule));
        int n = schedule.NumTrainTimesteps;
        if (n < 2) throw new ArgumentException("The schedule needs at least two timesteps.", nameof(schedule));
        if (!(schedule.AlphaBar[n - 1] > 0))
            throw new ArgumentException("The schedule has zero terminal SNR (alpha-bar(T-1) = 0), where the VP SDE's beta is infinite; " +
                "rescale without zero terminal SNR.", nameof(schedule));
        _variance = new double[n];
        for (int i = 0; i < n; i++) _variance[i] = (1 - schedule.AlphaBar[i]) / schedule.AlphaBar[i];
        _curvature = NaturalSplineCurvature(_variance);
        IsSmooth = true;
        for (int i = 0; i + 1 < n && IsSmooth; i++)
            for (int j = 0; j <= 8; j++)
                if (!(SplineSlope(i, j / 8.0) > 0)) { IsSmooth = false; break; }
    }

    /// <summary>The schedule.</summary>
    public NoiseSchedule Schedule { get; }

    /// <summary>Whether sigma^2 is the cubic spline (true) or, for an irregular schedule, the piecewise-linear log sigma^2 of <see cref="NoiseSchedule.InterpolatedAlphaBar"/>.</summary>
    public bool IsSmooth { get; }

    /// <inheritdoc />
    public override string Name => "schedule-vp";

    /// <summary>The fractional training timestep tau = t T - 1 of time t.</summary>
    public double TimestepOf(double t)
    {
        CheckTime(t);
        return t == 1 ? Schedule.NumTrainTimesteps - 1 : t * Schedule.NumTrainTimesteps - 1;
    }

    /// <summary>alpha-bar(t) = 1 / (1 + sigma^2(t T - 1)); equal to the schedule's alpha-bar at the training timesteps.</summary>
    public double AlphaBar(double t)
    {
        double tau = TimestepOf(t);
        if (tau < 0) return Schedule.InterpolatedAlphaBar(tau);
        (int i, double u) = Segment(tau);
        if (u == 0) return Schedule.AlphaBar[i];
        return IsSmooth ? 1 / (1 + SplineValue(i, u)) : Schedule.InterpolatedAlphaBar(tau);
    }

    /// <summary>beta(t) = -d log abar / dt (see the class remarks); at tau = 0, the value on the segment above.</summary>
    public double Beta(double t)
    {
        double tau = TimestepOf(t);
        int T = Schedule.NumTrainTimesteps;
        double abar = AlphaBar(t);
        if (tau < 0) return T * abar * _variance[0]; // sigma^2 = (tau + 1) sigma_0^2
        (int i, double u) = Segment(tau);
        return IsSmooth
            ? T * abar * SplineSlope(i, u)                                                              // d sigma^2 / d tau from the spline
            : T * (1 - abar) * (Math.Log(_variance[i + 1]) - Math.Log(_variance[i]));                  // log sigma^2 linear in tau
    }

    /// <inheritdoc />
    public override double DriftCoefficient(double t) => -0.5 * Beta(t);

    /// <inheritdoc />
    public override double Diffusion(double t) => Math.Sqrt(Beta(t));

    /// <inheritdoc />
    public override double MeanCoefficient(double t) => Math.Sqrt(AlphaBar(t));

    /// <inheritdoc />
    public override double MarginalStd(double t) => Math.Sqrt(1 - AlphaBar(t));

    /// <inheritdoc />
    public override double PriorStd => 1;

    /// <summary>1 / T: the first training timestep (tau = 0).</summary>
    public override double DefaultEps => 1.0 / Schedule.NumTrainTimesteps;

    /// <inheritdoc />
    public override double ModelInputScale(double t) => 1;

    // Segment [i, i + 1] of tau >= 0 and the position u in [0, 1) within it (u = 1 only at tau = T - 1).
    private (int I, double U) Segment(double tau)
    {
        int i = Math.Min((int)Math.Floor(tau), Schedule.NumTrainTimesteps - 2);
        return (i, tau - i);
    }

    // S(u) = (1-u) y_i + u y_(i+1) + ((1-u)^3 - (1-u)) M_i / 6 + (u^3 - u) M_(i+1) / 6 on unit spacing.
    private double SplineValue(int i, double u)
    {
        double w = 1 - u;
        return w * _variance[i] + u * _variance[i + 1] + ((w * w * w - w) * _curvature[i] + (u * u * u - u) * _curvature[i + 1]) / 6;
    }

    private double SplineSlope(int i, double u)
    {
        double w = 1 - u;
        return _variance[i + 1] - _variance[i] + (-(3 * w * w - 1) * _curvature[i] + (3 * u * u - 1) * _curvature[i + 1]) / 6;
    }

    // Cubic spline on unit spacing with parabolic run-out ends (M_0 = M_1, M_(n-1) = M_(n-2): the end segments are
    // parabolas, which follow a curving sigma^2 better than the natural spline's M = 0):
    // M_(i-1) + 4 M_i + M_(i+1) = 6 (y_(i+1) - 2 y_i + y_(i-1)), solved by the Thomas algorithm.
    private static double[] NaturalSplineCurvature(double[] y)
    {
        int n = y.Length;
        var m = new double[n];
        if (n < 3) return m;
        var c = new double[n];
        var d = new double[n];
        for (int i = 1; i < n - 1; i++)
        {
            double rhs = 6 * (y[i + 1] - 2 * y[i] + y[i - 1]);
            double diagonal = 4 + (i == 1 ? 1 : 0) + (i == n - 2 ? 1 : 0);
            double denominator = diagonal - (i > 1 ? c[i - 1] : 0);
            c[i] = 1 / denominator;
            d[i] = (rhs - (i > 1 ? d[i - 1] : 0)) / denominator;
        }
        for (int i = n - 2; i >= 1; i--) m[i] = d[i] - (i < n - 2 ? c[i] * m[i + 1] : 0);
        m[0] = m[1];
        m[n - 1] = m[n - 2];
        return m;
    }
}
