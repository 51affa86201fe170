namespace Diffusion.ML.Sampling;

/// <summary>
/// DPM-Solver++ multistep (Lu et al. 2022, "DPM-Solver++: Fast Solver for Guided Sampling of Diffusion Probabilistic
/// Models", Alg. 2): a deterministic solver of the probability-flow ODE that integrates the data prediction x_0 exactly in
/// lambda = log(alpha / sigma) (alpha = sqrt(abar), sigma = sqrt(1 - abar)) and approximates x_0 by a polynomial through the
/// last <see cref="Order"/> model evaluations; one model evaluation per step. Step rules follow diffusers'
/// <c>DPMSolverMultistepScheduler</c> (algorithm_type "dpmsolver++", final_sigmas_type "zero"), so results are
/// interchangeable with it for the same timesteps: step k uses order min(<see cref="Order"/>, k + 1); the last step, to
/// the clean sample (sigma = 0, lambda = +inf), is first order and returns the x_0 estimate; with
/// <see cref="LowerOrderFinal"/> and fewer than 15 steps the second-to-last step is at most second order. Order 1 is DDIM
/// (eta = 0).
/// </summary>
public sealed class DpmSolverPlusPlusSampler : ISampler
{
    /// <summary>Creates the sampler.</summary>
    /// <param name="order">Solver order, 1 to 3 ("2M" or "3M"). Default 2, diffusers' default and the paper's choice for guided sampling.</param>
    /// <param name="lowerOrderFinal">With fewer than 15 steps, use at most second order on the second-to-last step (diffusers' <c>lower_order_final</c>). Default true.</param>
    /// <param name="solverType">Second-order weighting (diffusers' <c>solver_type</c>). Default <see cref="DpmSolverType.Midpoint"/>, the paper's 2M.</param>
    public DpmSolverPlusPlusSampler(int order = 2, bool lowerOrderFinal = true, DpmSolverType solverType = DpmSolverType.Midpoint)
    {
        if (order is < 1 or > 3) throw new ArgumentOutOfRangeException(nameof(order), order, "DPM-Solver++ order must be 1, 2 or 3.");
        if (!Enum.IsDefined(solverType)) throw new ArgumentOutOfRangeException(nameof(solverType), solverType, "Unknown solver type.");
        Order = order;
        LowerOrderFinal = lowerOrderFinal;
        SolverType = solverType;
    }

    /// <summary>The solver order (1 to 3).</summary>
    public int Order { get; }

    /// <summary>Whether short runs (&lt; 15 steps) lower the order of the second-to-last step to at most 2.</summary>
    public bool LowerOrderFinal { get; }

    /// <summary>The second-order weighting.</summary>
    public DpmSolverType SolverType { get; }

    /// <inheritdoc />
    /// <remarks>"dpm-solver++-2m" or "dpm-solver++-3m" (and "dpm-solver++-1m" for order 1).</remarks>
    public string Name => $"dpm-solver++-{Order}m";

    /// <inheritdoc />
    public int ModelEvaluations(int timestepCount) => timestepCount;

    /// <inheritdoc />
    public void Sample(SamplingContext context, Span<float> x) =>
        DpmSolverMultistep.Run(context, x, Order, LowerOrderFinal, SolverType, stochastic: false);
}
