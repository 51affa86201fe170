namespace Diffusion.ML.MLNet;

/// <summary>What every estimator that trains a network inside <c>Fit</c> takes (TorchSharp, CPU or CUDA).</summary>
public abstract class DiffusionTrainingOptions
{
    /// <summary>Optimizer steps to reach. A resumed Fit continues from the checkpoint's step to this one.</summary>
    public long Steps { get; set; } = 1000;

    /// <summary>Images per step.</summary>
    public int BatchSize { get; set; } = 64;

    /// <summary>Adam learning rate; null takes the component's default.</summary>
    public double? LearningRate { get; set; }

    /// <summary>Linear warm-up steps of the learning rate.</summary>
    public int WarmupSteps { get; set; } = 100;

    /// <summary>Seed of the initialisation and of every random choice of training (a run is a pure function of it and the data).</summary>
    public long Seed { get; set; }

    /// <summary>TorchSharp device: "cpu", "cuda" or "cuda:N" (the CUDA build, docs/gpu.md).</summary>
    public string Device { get; set; } = "cpu";

    /// <summary>
    /// Folder for the training checkpoint. When set, Fit writes it every <see cref="CheckpointEvery"/> steps and at the
    /// end, and a Fit that finds one (same data) resumes from it instead of starting over: an interrupted or cancelled
    /// Fit loses at most <see cref="CheckpointEvery"/> steps.
    /// </summary>
    public string? CheckpointFolder { get; set; }

    /// <summary>Steps between checkpoints (0: only at the end and on cancellation).</summary>
    public int CheckpointEvery { get; set; } = 200;

    /// <summary>Receives the step, loss and time left after every step; messages also go to <c>MLContext.Log</c>.</summary>
    public IProgress<DiffusionTrainingProgress>? Progress { get; set; }

    /// <summary>Stops training after the current step (a checkpoint is written first when a folder is set).</summary>
    public CancellationToken CancellationToken { get; set; }

    /// <summary>Image shape [channels, height, width] of the input column; null infers it (see the estimator).</summary>
    public int[]? ImageShape { get; set; }

    internal void ValidateCommon()
    {
        if (Steps < 1) throw new ArgumentException($"Steps must be at least 1; got {Steps}.", nameof(Steps));
        if (BatchSize < 1) throw new ArgumentException($"BatchSize must be at least 1; got {BatchSize}.", nameof(BatchSize));
        if (LearningRate is { } rate && !(rate > 0 && double.IsFinite(rate))) throw new ArgumentException($"LearningRate must be positive; got {rate}.", nameof(LearningRate));
        if (WarmupSteps < 0) throw new ArgumentException($"WarmupSteps must be >= 0; got {WarmupSteps}.", nameof(WarmupSteps));
        if (CheckpointEvery < 0) throw new ArgumentException($"CheckpointEvery must be >= 0; got {CheckpointEvery}.", nameof(CheckpointEvery));
        ArgumentException.ThrowIfNullOrEmpty(Device, nameof(Device));
    }
}

/// <summary>Progress of a training Fit.</summary>
/// <param name="Component">Which estimator trains ("vae", "vqvae", "denoiser").</param>
/// <param name="Step">Steps done.</param>
/// <param name="TotalSteps">Steps to reach.</param>
/// <param name="Loss">Loss of the last step.</param>
/// <param name="Remaining">Estimated time left, when known.</param>
public sealed record DiffusionTrainingProgress(string Component, long Step, long TotalSteps, double Loss, TimeSpan? Remaining);
