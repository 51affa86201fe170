namespace Diffusion.ML.Sampling;

/// <summary>
/// SDE-DPM-Solver++ multistep (Lu et al. 2022, "DPM-Solver++", the SDE variant of its reference code; diffusers'
/// <c>DPMSolverMultistepScheduler</c> with algorithm_type "sde-dpmsolver++"): a stochastic solver of the reverse diffusion
/// SDE in lambda = log(alpha / sigma) with the data prediction x_0, x_t = (sigma_t / sigma_s) e^-h x_s + alpha_t (1 - e^-2h)
/// (x_0 + correction) + sigma_t sqrt(1 - e^-2h) z. Each step but the last draws fresh noise through
/// <see cref="SamplingContext.DrawNoise"/>, so a sample depends only on its own noise stream. Step rules are those of
/// <see cref="DpmSolverPlusPlusSampler"/>; the last step, to the clean sample, returns the x_0 estimate. Order 1 is DDIM with
/// eta = 1 (the DDPM posterior).
/// </summary>
/// <remarks>
/// Orders 1 and 2 only. diffusers also has an order-3 SDE update, but its D2 weight,
/// alpha_t ((1 - e^-2h - 2h) / (2h)^2 - 1/2), tends to -alpha_t as h -&gt; 0 instead of to 0 (the integral
/// alpha_t h^-2 int_0^h e^-2v (h - v)^2 dv gives + 1/2), so it is not reproduced here.
/// </remarks>
public sealed class SdeDpmSolverPlusPlusSampler : ISampler
{
    /// <summary>Creates the sampler.</summary>
    /// <param name="order">Solver order, 1 or 2 ("2M"). Default 2.</param>
    /// <param name="solverType">Second-order weighting (diffusers' <c>solver_type</c>). Default <see cref="DpmSolverType.Midpoint"/>, diffusers' default.</param>
    public SdeDpmSolverPlusPlusSampler(int order = 2, DpmSolverType solverType = DpmSolverType.Midpoint)
    {
        if (order is < 1 or > 2) throw new ArgumentOutOfRangeException(nameof(order), order, "SDE-DPM-Solver++ order must be 1 or 2.");
        if (!Enum.IsDefined(solverType)) throw new ArgumentOutOfRangeException(nameof(solverType), solverType, "Unknown solver type.");
        Order = order;
        SolverType = solverType;
    }

    /// <summary>The solver order (1 or 2).</summary>
    public int Order { get; }

    /// <summary>The second-order weighting.</summary>
    public DpmSolverType SolverType { get; }

    /// <inheritdoc />
    /// <remarks>"sde-dpm-solver++-2m" (and "sde-dpm-solver++-1m" for order 1).</remarks>
    public string Name => $"sde-dpm-solver++-{Order}m";

    /// <inheritdoc />
    public int ModelEvaluations(int timestepCount) => timestepCount;

    /// <inheritdoc />
    public void Sample(SamplingContext context, Span<float> x) =>
        DpmSolverMultistep.Run(context, x, Order, lowerOrderFinal: true, SolverType, stochastic: true);
}
