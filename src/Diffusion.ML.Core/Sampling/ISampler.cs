namespace Diffusion.ML.Sampling;

/// <summary>
/// A reverse-process solver: takes a batch from x_T to a sample, calling the model through a <see cref="SamplingContext"/>
/// as often as its method needs (once per step for DDIM, twice for Heun, with a history for multistep solvers). Samplers hold
/// no per-run state between <see cref="Sample"/> calls, so one instance can serve many runs; they see only spans and the
/// context, so every backend (TorchSharp, ONNX Runtime, a user's function) runs them identically.
/// </summary>
public interface ISampler
{
    /// <summary>The name the CLI and the public API select this sampler by (e.g. "ddim").</summary>
    string Name { get; }

    /// <summary>How many model evaluations a run over <paramref name="timestepCount"/> timesteps makes (for progress and cost).</summary>
    int ModelEvaluations(int timestepCount);

    /// <summary>Runs the reverse process over <see cref="SamplingContext.Timesteps"/>.</summary>
    /// <param name="context">The model, schedule, timesteps and noise of this batch.</param>
    /// <param name="x">On entry x_T (standard normal); on return the samples.</param>
    void Sample(SamplingContext context, Span<float> x);
}
