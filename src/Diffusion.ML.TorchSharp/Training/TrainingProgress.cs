namespace Diffusion.ML.TorchSharp.Training;

/// <summary>Progress of a training run, reported after each optimisation step.</summary>
/// <param name="Step">Optimisation steps done so far (including those before a resume).</param>
/// <param name="TotalSteps">Steps the run will reach.</param>
/// <param name="Loss">Loss of the last step.</param>
/// <param name="SamplesPerSecond">Training examples per second over the steps of this run.</param>
/// <param name="Remaining">Estimated time to <paramref name="TotalSteps"/>.</param>
public readonly record struct TrainingProgress(long Step, long TotalSteps, double Loss, double SamplesPerSecond, TimeSpan Remaining);
