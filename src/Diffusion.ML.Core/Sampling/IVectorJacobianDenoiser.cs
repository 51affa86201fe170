namespace Diffusion.ML.Sampling;

/// <summary>
/// A denoiser that can also give exact vector-Jacobian products of its noise estimate, v^T d eps(x, t) / d x, for instance
/// from automatic differentiation (the TorchSharp backend's <c>TorchSharpDenoiser</c>). The probability-flow likelihood
/// (<see cref="ScoreSde.ProbabilityFlowLikelihood"/>) then estimates the divergence of the ODE's drift from one forward and
/// one backward pass per probe instead of central finite differences (Song et al. 2021, appendix D.2; Grathwohl et al. 2019).
/// </summary>
public interface IVectorJacobianDenoiser : IDenoiser
{
    /// <summary>
    /// Evaluates, for each row b of a batch, the noise estimate eps_b = eps(x_b, t_b) and the exact vector-Jacobian product
    /// w_b = v_b^T d eps_b / d x_b, i.e. w_b[j] = sum_i v_b[i] d eps_b[i] / d x_b[j]. eps is the model's output turned into a
    /// noise estimate as <see cref="ModelOutputs.ToSampleAndNoise"/> does at alpha-bar <paramref name="alphaBars"/>[b], and the
    /// derivative goes through that conversion too (for x_0 and v prediction eps depends on x_b directly). A model that learns
    /// its variance contributes its prediction only. x is the model's input as <see cref="IDenoiser.Predict"/> takes it: a
    /// caller that scales its state before the model applies the chain rule for that scale itself.
    /// </summary>
    /// <param name="x">Model inputs x_t, batch x prod(SampleShape) values.</param>
    /// <param name="timesteps">One (fractional) training timestep per row; its length is the batch size.</param>
    /// <param name="alphaBars">Alpha-bar at each row's timestep (<see cref="Schedules.NoiseSchedule.InterpolatedAlphaBar"/>), in [0, 1].</param>
    /// <param name="classLabels">One label per row in [0, ClassCount] (ClassCount = null class), or empty for an unconditional model.</param>
    /// <param name="probes">The vectors v, one per row: the same length as <paramref name="x"/>.</param>
    /// <param name="eps">Receives eps, the same length as <paramref name="x"/>.</param>
    /// <param name="vectorJacobianProducts">Receives v^T d eps / d x per row, the same length as <paramref name="x"/>.</param>
    /// <exception cref="ArgumentException">A span's length does not match the batch.</exception>
    void PredictNoiseAndVectorJacobianProduct(ReadOnlySpan<float> x, ReadOnlySpan<float> timesteps, ReadOnlySpan<double> alphaBars,
        ReadOnlySpan<int> classLabels, ReadOnlySpan<float> probes, Span<float> eps, Span<float> vectorJacobianProducts);
}
