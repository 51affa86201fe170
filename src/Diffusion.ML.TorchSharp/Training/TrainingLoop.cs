using System.Diagnostics;

namespace Diffusion.ML.TorchSharp.Training;

/// <summary>
/// The loop every trainer runs: optimisation steps until a step count, a progress report after each (examples per second
/// over this run, time left), periodic and final checkpoints, and on cancellation a checkpoint before stopping.
/// </summary>
internal static class TrainingLoop
{
    /// <summary>Runs <paramref name="trainStep"/> until <paramref name="currentStep"/> reaches <paramref name="totalSteps"/>.</summary>
    /// <param name="currentStep">The trainer's step counter (advanced by <paramref name="trainStep"/>).</param>
    /// <param name="totalSteps">Step count to reach.</param>
    /// <param name="batchSize">Examples per step, for the rate.</param>
    /// <param name="trainStep">One optimisation step; returns its loss.</param>
    /// <param name="report">(step, loss, examples per second, time left) after each step, or null.</param>
    /// <param name="save">Writes a checkpoint, or null for none.</param>
    /// <param name="checkpointEvery">Steps between checkpoints; 0 writes only at the end (and on cancellation).</param>
    /// <param name="cancellationToken">Stops after the current step (checkpoint first), throwing <see cref="OperationCanceledException"/>.</param>
    public static void Run(Func<long> currentStep, long totalSteps, int batchSize, Func<double> trainStep,
        Action<long, double, double, TimeSpan>? report, Action? save, int checkpointEvery, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        long firstStep = currentStep();
        while (currentStep() < totalSteps)
        {
            if (cancellationToken.IsCancellationRequested)
            {
                save?.Invoke();
                cancellationToken.ThrowIfCancellationRequested();
            }
            double loss = trainStep();
            long step = currentStep();
            double stepsPerSecond = (step - firstStep) / Math.Max(clock.Elapsed.TotalSeconds, 1e-9);
            report?.Invoke(step, loss, stepsPerSecond * batchSize, TimeSpan.FromSeconds((totalSteps - step) / Math.Max(stepsPerSecond, 1e-9)));
            if (save is not null && checkpointEvery > 0 && step % checkpointEvery == 0 && step < totalSteps) save();
        }
    }
}
