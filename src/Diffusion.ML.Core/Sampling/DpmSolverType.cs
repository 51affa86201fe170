namespace Diffusion.ML.Sampling;

/// <summary>How DPM-Solver++'s second-order multistep update weights the first divided difference (diffusers' <c>solver_type</c>).</summary>
public enum DpmSolverType
{
    /// <summary>
    /// The paper's DPM-Solver++(2M): x_0 term (1 + 1/(2r)) D_i - 1/(2r) D_{i-1} (Lu et al. 2022, Alg. 2). diffusers' default.
    /// </summary>
    Midpoint,

    /// <summary>The first difference weighted by the exact phi_2 integral, alpha_t ((e^-h - 1) / h + 1) (Lu et al. 2022, eq. 9 with k = 1).</summary>
    Heun,
}
