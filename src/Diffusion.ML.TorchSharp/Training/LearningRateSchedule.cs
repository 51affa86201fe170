namespace Diffusion.ML.TorchSharp.Training;

/// <summary>Learning-rate schedules shared by the trainers.</summary>
public static class LearningRateSchedule
{
    /// <summary>Linear warm-up over <paramref name="warmupSteps"/> steps, then constant: lr min(1, (k + 1) / warmup) at 0-based step k.</summary>
    /// <param name="learningRate">The peak learning rate.</param>
    /// <param name="warmupSteps">Warm-up steps; 0 means none.</param>
    /// <param name="step">The 0-based step k.</param>
    public static double LinearWarmup(double learningRate, int warmupSteps, long step) =>
        learningRate * (warmupSteps == 0 ? 1.0 : Math.Min(1.0, (step + 1.0) / warmupSteps));

    /// <summary>
    /// Linear warm-up, then cosine decay to 0 at <paramref name="totalSteps"/>: lr_k = lr/2 (1 + cos(pi p)) with p the fraction
    /// of the post-warm-up steps done (Loshchilov and Hutter 2017, without restarts).
    /// </summary>
    /// <param name="learningRate">The peak learning rate.</param>
    /// <param name="warmupSteps">Warm-up steps; 0 means none.</param>
    /// <param name="totalSteps">The step at which the rate reaches 0.</param>
    /// <param name="step">The 0-based step k.</param>
    public static double WarmupCosine(double learningRate, int warmupSteps, long totalSteps, long step)
    {
        if (step < warmupSteps) return LinearWarmup(learningRate, warmupSteps, step);
        double progress = (double)(step - warmupSteps) / Math.Max(1, totalSteps - warmupSteps);
        return learningRate * 0.5 * (1 + Math.Cos(Math.PI * Math.Min(1.0, progress)));
    }
}
