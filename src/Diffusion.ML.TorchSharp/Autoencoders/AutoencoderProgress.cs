namespace Diffusion.ML.TorchSharp.Autoencoders;

/// <summary>Progress of an autoencoder training run, reported after each optimisation step.</summary>
/// <param name="Step">Optimisation steps done (including those before a resume).</param>
/// <param name="TotalSteps">Steps the run will reach.</param>
/// <param name="Loss">Loss of the last step.</param>
/// <param name="Metrics">The last step's loss terms (e.g. "mse", "kl", "perplexity", "usage").</param>
/// <param name="SamplesPerSecond">Training images per second over the steps of this run.</param>
/// <param name="Remaining">Estimated time to <paramref name="TotalSteps"/>.</param>
public sealed record AutoencoderProgress(long Step, long TotalSteps, double Loss, IReadOnlyDictionary<string, double> Metrics,
    double SamplesPerSecond, TimeSpan Remaining);
